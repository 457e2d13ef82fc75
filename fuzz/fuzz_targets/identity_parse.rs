//! `model::identity`: parsing any text as a virtual service or a real server, by `FromStr`
//! or `from_log`, never panics; whatever parses prints a canonical form that parses back to
//! the same identity and prints the same again, and its metric labels read back to it;
//! the dotted IPv4 reader agrees with std's parser on any text.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lvsmon::model::{FwmFamily, RealServerId, VirtualServiceId};

fn check_service(id: VirtualServiceId) {
    let text = id.to_string();
    assert_eq!(text.parse::<VirtualServiceId>(), Ok(id), "{text}");
    assert_eq!(VirtualServiceId::from_log(&text), Some(id), "{text}");
    let l = id.labels();
    let [p, a, port, m] = l.as_array();
    // The labels cannot tell a known IPv4 mark from an unknown family (by design).
    let want = match id {
        VirtualServiceId::Fwmark {
            mark,
            family: FwmFamily::V4,
        } => VirtualServiceId::Fwmark {
            mark,
            family: FwmFamily::Unknown,
        },
        other => other,
    };
    assert_eq!(
        VirtualServiceId::from_labels(p, a, port, m),
        Some(want),
        "{text}"
    );
}

fn check_server(id: RealServerId) {
    let text = id.to_string();
    assert_eq!(text.parse::<RealServerId>(), Ok(id), "{text}");
    let (a, p) = id.labels();
    assert_eq!(RealServerId::from_labels(&a, &p), Some(id), "{text}");
}

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    // The dotted IPv4 reader accepts exactly what std's parser does.
    assert_eq!(
        lvsmon::model::iptext::read_v4(s),
        s.parse::<std::net::Ipv4Addr>().ok()
    );
    let vs = s.parse::<VirtualServiceId>();
    assert_eq!(VirtualServiceId::from_log(s), vs.ok());
    if let Ok(id) = vs {
        check_service(id);
    }
    let rs = s.parse::<RealServerId>();
    assert_eq!(RealServerId::from_log(s), rs.ok());
    if let Ok(id) = rs {
        check_server(id);
    }
});
