use super::*;

fn id(s: &str) -> VsName {
    VsName::Id(s.parse().unwrap())
}

#[test]
fn every_form_keepalived_2_2_7_writes() {
    assert_eq!(
        parse_line("INSTANCE \"VI_1\" MASTER 150"),
        Ok(Notice::Instance {
            iname: "VI_1".into(),
            event: VrrpEvent::Master,
            priority: 150
        })
    );
    assert_eq!(
        parse_line("INSTANCE \"VI 2\" BACKUP_PRIORITY 90\n"),
        Ok(Notice::Instance {
            iname: "VI 2".into(),
            event: VrrpEvent::BackupPriority,
            priority: 90
        })
    );
    assert_eq!(
        parse_line("GROUP \"VG_1\" FAULT 0"),
        Ok(Notice::Group {
            gname: "VG_1".into(),
            event: VrrpEvent::Fault
        })
    );
    assert_eq!(
        parse_line("VS [10.1.0.100]:tcp:80 DOWN"),
        Ok(Notice::VirtualServer {
            vs: id("TCP 10.1.0.100:80"),
            up: false
        })
    );
    assert_eq!(
        parse_line("VS FWM 5 UP"),
        Ok(Notice::VirtualServer {
            vs: id("FWM 5"),
            up: true
        })
    );
    assert_eq!(
        parse_line("VS [VSG_1]:80 UP"),
        Ok(Notice::VirtualServer {
            vs: VsName::Group {
                name: "VSG_1".into(),
                port: 80
            },
            up: true
        })
    );
    assert_eq!(
        parse_line("RS [10.2.0.11]:tcp:80 [10.1.0.100]:tcp:80 DOWN"),
        Ok(Notice::RealServer {
            rs: "10.2.0.11:80".parse().unwrap(),
            vs: id("TCP 10.1.0.100:80"),
            up: false
        })
    );
    assert_eq!(
        parse_line("RS [fd00::12]:udp:53 FWM 7 UP"),
        Ok(Notice::RealServer {
            rs: "[fd00::12]:53".parse().unwrap(),
            vs: id("FWM 7"),
            up: true
        })
    );
}

#[test]
fn what_keepalived_never_writes_is_an_error() {
    for (line, want) in [
        ("", NoticeError::Empty),
        ("RELOAD", NoticeError::Kind),
        ("HELLO \"x\" MASTER 1", NoticeError::Kind),
        ("INSTANCE VI_1 MASTER 100", NoticeError::Name),
        ("INSTANCE \"\" MASTER 100", NoticeError::Name),
        ("INSTANCE \"VI_1\" SLEEPY 100", NoticeError::State),
        ("INSTANCE \"VI_1\" MASTER 256", NoticeError::Priority),
        ("INSTANCE \"VI_1\" MASTER +5", NoticeError::Priority),
        ("INSTANCE \"VI_1\" MASTER", NoticeError::Name),
        ("VS [10.1.0.100]:tcp:80 SIDEWAYS", NoticeError::UpDown),
        ("VS [10.1.0.100]:80 UP", NoticeError::VirtualServer),
        ("RS [10.2.0.11]:tcp:80 UP", NoticeError::VirtualServer),
        (
            "RS nonsense [10.1.0.100]:tcp:80 UP",
            NoticeError::RealServer,
        ),
    ] {
        assert_eq!(parse_line(line), Err(want), "{line:?}");
    }
}

#[test]
fn lines_change_the_dumped_state_and_add_what_no_dump_showed() {
    let mut s = KeepalivedState::default();
    let line = |s: &mut KeepalivedState, l: &str, at| apply(s, &parse_line(l).unwrap(), at);
    line(&mut s, "INSTANCE \"VI_1\" BACKUP 100", 10.0);
    assert_eq!(
        (s.instances[0].state, s.instances[0].priority_effective),
        (1, 100)
    );
    assert!(s.instances[0].from_notify);
    line(&mut s, "INSTANCE \"VI_1\" MASTER 100", 12.0);
    line(&mut s, "INSTANCE \"VI_1\" MASTER_RX_LOWER_PRI 100", 13.0);
    assert_eq!(
        (s.instances[0].state, s.instances[0].last_transition),
        (2, 12.0)
    );
    line(&mut s, "INSTANCE \"VI_1\" MASTER_PRIORITY 80", 14.0);
    assert_eq!(
        (s.instances[0].state, s.instances[0].priority_effective),
        (2, 80)
    );
    assert_eq!(s.instances[0].last_transition, 12.0);
    line(&mut s, "GROUP \"VG\" FAULT 0", 15.0);
    assert_eq!(s.instances[0].state, 2);

    // A dump's real server changes state; a new one is added without a known weight.
    s.virtual_services.push(VirtualService {
        address: Some(VsAddress::Inet {
            ip: "10.1.0.100".parse().unwrap(),
            port: 80,
        }),
        real_servers: vec![RealServer {
            ip: Some("10.2.0.11".parse().unwrap()),
            port: 80,
            alive: true,
            weight: 3,
            from_notify: false,
        }],
        ..VirtualService::default()
    });
    line(
        &mut s,
        "RS [10.2.0.11]:tcp:80 [10.1.0.100]:tcp:80 DOWN",
        16.0,
    );
    line(&mut s, "RS [10.2.0.12]:tcp:80 [10.1.0.100]:tcp:80 UP", 16.0);
    let rs = &s.virtual_services[0].real_servers;
    assert_eq!(s.virtual_services.len(), 1);
    assert_eq!(
        (rs[0].alive, rs[0].weight, rs[0].from_notify),
        (false, 3, false)
    );
    assert_eq!((rs[1].alive, rs[1].from_notify), (true, true));
    line(&mut s, "VS [10.1.0.100]:tcp:80 DOWN", 17.0);
    assert!(!s.virtual_services[0].quorum_up);
    line(&mut s, "RS [10.2.0.21]:udp:53 FWM 9 DOWN", 18.0);
    assert_eq!(
        s.virtual_services[1].id().map(|i| i.to_string()).as_deref(),
        Some("FWM 9")
    );

    line(&mut s, "INSTANCE \"VI_1\" STOP 100", 20.0);
    assert!(s.instances.is_empty());
}
