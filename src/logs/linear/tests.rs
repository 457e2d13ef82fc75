use super::*;
use regex::Regex;

/// The matcher's answer and capture spans, beside the regex crate's.
type Slots = Option<Vec<Option<usize>>>;

fn both(re: &str, hay: &str) -> (Slots, Slots) {
    let p = Program::new(re).unwrap_or_else(|| panic!("{re} does not compile"));
    let mut slots = vec![None; p.slots()];
    let mine = p
        .captures(hay, &mut slots, &mut Stack::default())
        .expect("within the step cap")
        .then_some(slots);
    let r = Regex::new(re).unwrap();
    let mut locs = r.capture_locations();
    let theirs = r.captures_read(&mut locs, hay).map(|_| {
        (0..p.slots())
            .map(|s| locs.get(s / 2).map(|(a, b)| if s % 2 == 0 { a } else { b }))
            .collect()
    });
    (mine, theirs)
}

#[test]
fn agrees_with_the_regex_crate_on_the_library_shapes() {
    let cases: &[(&str, &[&str])] = &[
        (
            r"^(?:VRRP_Instance)?\((?P<i>[^)]+)\):? Entering BACKUP STATE(?: \(init\))?$",
            &[
                "(VI_1) Entering BACKUP STATE",
                "(VI_1) Entering BACKUP STATE (init)",
                "VRRP_Instance(VI_1): Entering BACKUP STATE",
                "(VI_1) Entering BACKUP STATE (init) x",
                "(VI_é) Entering BACKUP STATE",
                "() Entering BACKUP STATE",
            ],
        ),
        (
            r"^(?:(?:VRRP_Instance)?\((?P<i>[^)]+)\):? )?(?:Master received advert from (?P<peer>\S+) with (?:higher priority \d+, ours \d+|same priority \d+ but higher IP)|(?:Master r|R)eceived advert with higher priority \d+, ours \d+)$",
            &[
                "(VI_1) Master received advert from 10.0.0.2 with higher priority 150, ours 100",
                "Master received advert with higher priority 150, ours 100",
                "(VI_1) Received advert with higher priority 1, ours 2",
                "(VI_1) Master received advert from 10.0.0.2 with same priority 5 but higher IP",
                "(VI_1) Master received advert from  with higher priority 150, ours 100",
                "(VI_1) Master received advert with higher priority 150, ours ١٢",
            ],
        ),
        (
            r"^Removing service (?P<rs>\S+) (?:from|to) VS (?P<vs>\S+(?: \d+)?)$",
            &[
                "Removing service [10.2.0.1]:tcp:80 from VS [10.1.0.1]:tcp:80",
                "Removing service [10.2.0.1]:tcp:80 from VS FWM 42",
                "Removing service [10.2.0.1]:tcp:80 from VS FWM x",
                "Removing service  from VS x",
            ],
        ),
        (
            r"- no destination (?P<x>a|ab)vailable",
            &["TCP 1 - no destination available", "- no destination ab"],
        ),
        (
            r"^Lost quorum \d+[+-]\d+=-?\d+ (?:<=|>) -?\d+ for VS (?P<vs>\S+)$",
            &[
                "Lost quorum 1-0=1 > 0 for VS x",
                "Lost quorum 1+0=-1 <= -2 for VS y",
                "Lost quorum 1*0=1 > 0 for VS x",
            ],
        ),
        (
            r"^Netlink: (?:error: .*|Receive buffer overrun.*)$",
            &[
                "Netlink: error: x",
                "Netlink: Receive buffer overrun",
                "Netlink: other",
            ],
        ),
    ];
    for (re, hays) in cases {
        for hay in *hays {
            let (mine, theirs) = both(re, hay);
            assert_eq!(mine, theirs, "{re} on {hay:?}");
        }
    }
}

#[test]
fn runs_give_back_characters_only_when_what_follows_could_need_them() {
    assert!(!Program::new(r"^\S+ foo$").unwrap().gives_back());
    assert!(Program::new(r"^\S+x$").unwrap().gives_back());
    for (re, hay) in [
        (
            r"^IPVS cmd (?P<c>\S+)\((?P<n>\d+)\) error: .*$",
            "IPVS cmd ADD(1)(12) error: x",
        ),
        (r"^server (?P<rs>\S+)\.$", "server [10.2.0.1]:tcp:80."),
        (r"^server (?P<rs>\S+)\.$", "server [10.2.0.1]:tcp:80"),
        (r"^(?P<a>.*)é(?P<b>.*)$", "aébéc"),
        (r"^(?P<a>\S+)x(?P<b>\S*)$", "axbxcx"),
    ] {
        let (mine, theirs) = both(re, hay);
        assert_eq!(mine, theirs, "{re} on {hay:?}");
    }
}

#[test]
fn a_search_that_would_cost_more_than_linear_time_gives_up() {
    let p = Program::new(r"^(?P<a>\S+)(?P<b>\S+)(?P<c>\S+)y$").unwrap();
    let hay = "x".repeat(2000);
    let mut slots = vec![None; p.slots()];
    assert_eq!(p.captures(&hay, &mut slots, &mut Stack::default()), None);
    let ok = format!("{hay}y");
    assert_eq!(
        p.captures(&ok, &mut slots, &mut Stack::default()),
        Some(true)
    );
}

#[test]
fn unsupported_shapes_are_refused() {
    assert!(Program::new(r"^a+?$").is_none(), "lazy");
    assert!(Program::new(r"\bword\b").is_none(), "word boundaries");
    assert!(Program::new(r"^(?:ab)+$").is_none(), "repeated group");
    assert!(Program::new(r"^\d{2,4}$").is_none());
    assert!(Program::new(r"^\d{4}$").is_some());
}

#[test]
fn unanchored_programs_find_the_leftmost_match() {
    let (mine, theirs) = both(r"(?P<n>\d+) apples", "12 pears, 34 apples, 56 apples");
    assert_eq!(mine, theirs);
    assert_eq!(mine.unwrap()[2], Some(10));
}

proptest::proptest! {
    /// Equal as slices are: every length a word splits differently (short, whole words,
    /// a tail, past 64 bytes), with one byte changed anywhere or the lengths apart.
    #[test]
    fn bytes_are_equal_as_slices_are(
        a in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..80),
        at in proptest::prelude::any::<usize>(),
        to in proptest::prelude::any::<u8>(),
        cut in 0usize..3,
    ) {
        let mut b = a.clone();
        if let Some(x) = b.get_mut(at % a.len().max(1)) {
            *x = to;
        }
        if cut == 1 {
            b.pop();
        }
        proptest::prop_assert_eq!(bytes_eq(&a, &b), a == b);
        proptest::prop_assert!(bytes_eq(&a, &a));
    }
}
