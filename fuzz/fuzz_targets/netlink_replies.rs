//! The IPVS netlink reply decoders on arbitrary attribute bytes: no panic, whatever the
//! kernel (or a corrupted reply) sends; a recorded conversation renders and parses back
//! to itself.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lvsmon::ipvs::netlink::attrs::{
    parse_config_msg, parse_daemon_msg, parse_dest_msg, parse_info_msg, parse_service_msg,
    Skipped,
};
use lvsmon::ipvs::netlink::recording::{Exchange, Recording};

fuzz_target!(|data: &[u8]| {
    let mut skipped = Skipped::default();
    let _ = parse_service_msg(data, &mut skipped);
    for af in [2u16, 10, 0] {
        let _ = parse_dest_msg(data, af, &mut skipped);
    }
    let _ = parse_daemon_msg(data, &mut skipped);
    let _ = parse_config_msg(data, &mut skipped);
    let _ = parse_info_msg(data, &mut skipped);

    let (cmd, rest) = data.split_first().unwrap_or((&0, &[]));
    let half = rest.len() / 2;
    let rec = Recording {
        exchanges: vec![Exchange {
            cmd: *cmd,
            request: rest[..half].to_vec(),
            replies: vec![rest[half..].to_vec(), Vec::new()],
        }],
    };
    assert_eq!(Recording::parse(&rec.render()).as_ref(), Ok(&rec));
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(r) = Recording::parse(text) {
            assert_eq!(Recording::parse(&r.render()), Ok(r));
        }
    }
});
