//! `logs::frame`: any bytes frame without panicking; the message is always a suffix of the
//! (lossily decoded) line unless the line is a JSON record, and framing is deterministic;
//! a kernel line's "setting system clock" reading (`clock_set_at`) never panics either.
//! The input's lines framed one after another with one cache of stamps (`frame_with`, as
//! the classifier frames a file) frame exactly as each line alone, and a frame kept as
//! places in its text (`Places`, as the merge of several inputs keeps a waiting line)
//! comes back the same.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lvsmon::logs::frame::{
    clock_set_at, frame, frame_text_with, frame_with, Places, Stamps, Time, Transport, YearClock,
};

fuzz_target!(|data: &[u8]| {
    let clock = YearClock::at(1_732_528_800);
    let f = frame(data, &clock);
    if f.transport != Transport::Json {
        let text = String::from_utf8_lossy(data);
        let text = text.strip_suffix('\r').unwrap_or(&text);
        assert!(text.ends_with(&*f.message));
    }
    assert_eq!(f, frame(data, &clock));
    if let Some(Time::SinceBoot(us)) = f.time {
        let _ = clock_set_at(&f.message, us);
    }
    let mut stamps = Stamps::default();
    for line in data.split(|&b| b == b'\n') {
        assert_eq!(frame_with(line, &clock, &mut stamps), frame(line, &clock));
        if let Ok(text) = std::str::from_utf8(line) {
            let f = frame_text_with(text, &clock, &mut stamps);
            assert_eq!(f, frame(line, &clock));
            assert_eq!(Places::of(f.clone(), text).frame(text), f);
        }
    }
});
