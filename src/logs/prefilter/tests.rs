use super::*;

fn lits(re: &str) -> Vec<String> {
    literals(re)
        .unwrap_or_default()
        .into_iter()
        .map(|l| String::from_utf8(l).unwrap())
        .collect()
}

#[test]
fn adjacent_small_pieces_join_into_the_longest_required_literals() {
    assert_eq!(
        lits(r"^(?:VRRP_Instance)?\((?P<i>[^)]+)\) Entering MASTER STATE$"),
        [") Entering MASTER STATE"]
    );
    assert_eq!(
        lits(r"^(?:VRRP_Instance)?\((?P<i>[^)]+)\):? Entering MASTER STATE$"),
        [" Entering MASTER STATE"],
        "two joined literals, then their common part"
    );
    assert_eq!(
        lits(r"^(?:Kernel|Link) x"),
        ["Kernel x", "Link x"],
        "too little in common"
    );
    assert_eq!(
        lits(r"^(?:TCP|UDP) connection to (?P<rs>\[\S+) success\.$"),
        ["P connection to ["],
        "the first byte of the piece that ends the run joins it"
    );
}

#[test]
fn an_alternation_requires_one_literal_of_each_branch() {
    assert_eq!(
        lits(r"(?:^Unknown VRID\(\d+\)|duplicate VRID conflict)"),
        ["Unknown VRID(", "duplicate VRID conflict"]
    );
}

#[test]
fn optional_or_open_ended_pieces_require_nothing() {
    assert_eq!(literals(r"^(?:foo bar)?\S+$"), None);
    assert_eq!(literals(r"^\d+ a$"), None, "too short to be worth it");
    assert_eq!(literals(r"(?:ab|\w+) xyz"), Some(vec![b" xyz".to_vec()]));
    assert_eq!(literals(r"(?:long literal|\w+)"), None);
}

#[test]
fn candidates_are_the_owners_of_the_literals_found_plus_the_unfiltered() {
    let p = Prefilter::new([r"Entering MASTER", r"^\S+$", r"MASTER STATE"]);
    assert_eq!(p.unfiltered().collect::<Vec<_>>(), [1]);
    let mut bits = p.bits();
    p.candidates("(VI_1) Entering MASTER STATE", &mut bits);
    assert_eq!(
        ones(&bits).collect::<Vec<_>>(),
        [0, 1, 2],
        "overlapping hits both count"
    );
    p.candidates("nothing here", &mut bits);
    assert_eq!(ones(&bits).collect::<Vec<_>>(), [1]);
}

#[test]
fn literals_ending_at_the_same_byte_all_count() {
    let p = Prefilter::new([
        r"Starting Keepalived v",
        r"(?:Stopped|Stopping) Keepalived v",
    ]);
    let mut bits = p.bits();
    p.candidates("Starting Keepalived v2.2.7", &mut bits);
    assert_eq!(ones(&bits).collect::<Vec<_>>(), [0, 1]);
}

/// The candidates for `m`: rules found and admitted.
fn candidates(p: &Prefilter, m: &str) -> Vec<usize> {
    let mut bits = p.bits();
    p.candidates(m, &mut bits);
    ones(p.found(&bits))
        .filter(|&r| p.admits(r, &bits))
        .collect()
}

#[test]
fn a_second_required_set_from_another_piece_must_be_found_too() {
    let failed =
        r"^(?:TCP|UDP|ICMP) connection to (?:address )?(?P<rs>\[\S+) (?:timed?out|failed)\.$";
    let success = r"^(?:TCP|UDP|ICMP) connection to (?:address )?(?P<rs>\[\S+) success\.$";
    let text = |sets: Vec<Set>| -> Vec<Vec<String>> {
        sets.into_iter()
            .map(|s| {
                s.into_iter()
                    .map(|l| String::from_utf8(l).unwrap())
                    .collect()
            })
            .collect()
    };
    assert_eq!(
        text(requirements(failed)),
        [
            vec!["P connection to "],
            vec![" failed.", " timedout.", " timeout."]
        ]
    );
    assert_eq!(
        text(requirements(
            r"^VRRP_Script\((?P<script>[^)]+)\) succeeded$"
        )),
        [vec!["VRRP_Script("], vec![") succeeded"]]
    );
    // An alternation at the top has no pieces that all matches share.
    assert_eq!(
        requirements(r"(?:^Unknown VRID\(\d+\)|duplicate VRID conflict)").len(),
        1
    );
    assert!(requirements(r"^\S+$").is_empty());

    let p = Prefilter::new([failed, success, r"^\S+ connection"]);
    assert_eq!(
        candidates(&p, "TCP connection to [10.2.0.1]:tcp:80 success."),
        [1, 2]
    );
    assert_eq!(
        candidates(&p, "TCP connection to [10.2.0.1]:tcp:80 failed."),
        [0, 2]
    );
    assert_eq!(
        candidates(&p, "UDP connection to [10.2.0.1]:udp:53 timeout."),
        [0, 2]
    );
    // The second set alone is not enough either.
    assert_eq!(
        candidates(&p, "VRRP_Script(x) failed."),
        Vec::<usize>::new()
    );
}

#[test]
fn bit_sets_beyond_one_word_work() {
    let res: Vec<String> = (0..130).map(|i| format!("literal{i:03}")).collect();
    let p = Prefilter::new(res.iter().map(String::as_str));
    let mut bits = p.bits();
    p.candidates("x literal129 literal064 y", &mut bits);
    assert_eq!(ones(&bits).collect::<Vec<_>>(), [64, 129]);
}

proptest::proptest! {
    /// The set bits, ascending, across words, empty words and the last bit of a word.
    #[test]
    fn ones_are_the_set_bits_in_order(words in proptest::collection::vec(
        proptest::prop_oneof![
            proptest::prelude::Just(0u64),
            proptest::prelude::Just(u64::MAX),
            proptest::prelude::Just(1u64 << 63),
            proptest::prelude::any::<u64>(),
        ],
        0..5,
    )) {
        let naive: Vec<usize> = (0..words.len() * 64)
            .filter(|&b| words[b / 64] >> (b % 64) & 1 == 1)
            .collect();
        proptest::prop_assert_eq!(ones(&words).collect::<Vec<_>>(), naive);
    }
}

/// A second set is looked for only when another rule's first literal holds this rule's:
/// only then can a line hold this rule's first literal and be another rule's.
#[test]
fn a_second_set_counts_only_when_the_first_literal_is_shared() {
    let set = |l: &[&str]| -> Set { l.iter().map(|s| s.as_bytes().to_vec()).collect() };
    // `abc` is inside rule 1's `zabcz`: rule 0 needs `xyz` too.
    let shared = Prefilter::from_requirements(vec![
        vec![set(&["abc"]), set(&["xyz"])],
        vec![set(&["zabcz"])],
    ]);
    assert_eq!(candidates(&shared, "zabcz"), [1]);
    assert_eq!(candidates(&shared, "zabcz xyz"), [0, 1]);
    // No other rule's literal holds `abc`: rule 0 is a candidate on `abc` alone.
    let alone = Prefilter::from_requirements(vec![
        vec![set(&["abc"]), set(&["xyz"])],
        vec![set(&["qqq"])],
    ]);
    assert_eq!(candidates(&alone, "abc"), [0]);
    assert_eq!(candidates(&alone, "qqq"), [1]);
    // Held by another rule's second literal counts too: its lines hold `abc`.
    let second = Prefilter::from_requirements(vec![
        vec![set(&["abc"]), set(&["xyz"])],
        vec![set(&["qqq"]), set(&["zabcz"])],
    ]);
    assert_eq!(candidates(&second, "qqq zabcz"), [1]);
    // The same from regexes: ` to ` is not looked for after `Changing effective priority from `.
    let p = Prefilter::new([
        r"^Changing effective priority from \d+ to \d+$",
        r"^\(\S+\) master ",
    ]);
    assert_eq!(candidates(&p, "Changing effective priority from 100"), [0]);
}

/// The literal sets against the regexes' own matches: random regexes from the pieces the
/// library uses (literals, small and large classes, optional and repeated groups,
/// alternations), each with a string drawn from it.
mod drawn {
    use super::*;
    use proptest::prelude::*;

    /// Class, and characters a match may take from it (wide ones too).
    const CLASSES: &[(&str, &[&str])] = &[
        (r"\d", &["0", "7", "\u{663}"]),
        ("[0-9]", &["5", "9"]),
        ("[^:()]", &["a", " ", "é"]),
        (r"\S", &["x", ")", "ж"]),
        ("[ab]", &["a", "b"]),
    ];

    #[derive(Debug, Clone)]
    enum Node {
        Lit(String),
        Class(usize),
        Cat(Vec<Node>),
        Alt(Vec<Node>),
        /// `?`, `+`, `*`, `{0,2}`.
        Rep(Box<Node>, usize),
        Cap(Box<Node>),
    }

    fn node() -> impl Strategy<Value = Node> {
        let leaf = prop_oneof![
            "[ab():0-9 L]{1,4}".prop_map(Node::Lit),
            (0..CLASSES.len()).prop_map(Node::Class),
        ];
        leaf.prop_recursive(4, 24, 4, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 1..5).prop_map(Node::Cat),
                proptest::collection::vec(inner.clone(), 2..4).prop_map(Node::Alt),
                (inner.clone(), 0..4usize).prop_map(|(n, k)| Node::Rep(Box::new(n), k)),
                inner.prop_map(|n| Node::Cap(Box::new(n))),
            ]
        })
    }

    fn regex(n: &Node) -> String {
        match n {
            Node::Lit(l) => regex_syntax::escape(l),
            Node::Class(c) => CLASSES[*c].0.to_string(),
            Node::Cat(ns) => ns.iter().map(|n| format!("(?:{})", regex(n))).collect(),
            Node::Alt(ns) => {
                let alts: Vec<String> = ns.iter().map(regex).collect();
                format!("(?:{})", alts.join("|"))
            }
            Node::Rep(n, k) => format!("(?:{}){}", regex(n), ["?", "+", "*", "{0,2}"][*k]),
            Node::Cap(n) => format!("({})", regex(n)),
        }
    }

    /// A string `n` matches, its choices taken from `pick` in turn.
    fn draw(n: &Node, pick: &mut impl FnMut() -> usize) -> String {
        match n {
            Node::Lit(l) => l.clone(),
            Node::Class(c) => CLASSES[*c].1[pick() % CLASSES[*c].1.len()].to_string(),
            Node::Cat(ns) => ns.iter().map(|n| draw(n, pick)).collect(),
            Node::Alt(ns) => draw(&ns[pick() % ns.len()], pick),
            Node::Rep(n, k) => {
                // `?` zero or one time, `+` one or two, `*` and `{0,2}` zero to two.
                let times = match k {
                    0 => pick() % 2,
                    1 => 1 + pick() % 2,
                    _ => pick() % 3,
                };
                (0..times).map(|_| draw(n, pick)).collect()
            }
            Node::Cap(n) => draw(n, pick),
        }
    }

    fn holds(set: &Set, text: &str) -> bool {
        set.iter().any(|l| contains(text.as_bytes(), l))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(3000))]

        /// Every string a regex matches holds a member of each set the prefilter takes
        /// from it, starts with one of its prefixes and ends with one of its suffixes.
        #[test]
        fn a_drawn_match_holds_every_required_set(
            n in node(),
            picks in proptest::collection::vec(any::<usize>(), 64),
            before in "[a( ]{0,3}",
            after in "[b) ]{0,3}",
        ) {
            let mut next = picks.iter().copied().cycle();
            let m = draw(&n, &mut || next.next().unwrap_or(0));
            let re = regex(&n);
            let line = format!("{before}{m}{after}");
            let whole = regex::Regex::new(&format!("^(?:{re})$")).unwrap();
            prop_assert!(whole.is_match(&m), "{:?} does not match {:?}", m, re);
            for set in requirements(&re) {
                prop_assert!(holds(&set, &line), "{:?} {:?} {:?}", re, line, set);
            }
            let hir = regex_syntax::ParserBuilder::new().build().parse(&re).unwrap();
            let text = |s: &Set| -> Vec<String> {
                s.iter().map(|l| String::from_utf8_lossy(l).into_owned()).collect()
            };
            prop_assert!(
                text(&prefixes(&hir)).iter().any(|p| m.starts_with(p.as_str())),
                "{:?} {:?} {:?}", re, m, text(&prefixes(&hir))
            );
            prop_assert!(
                text(&suffixes(&hir)).iter().any(|p| m.ends_with(p.as_str())),
                "{:?} {:?} {:?}", re, m, text(&suffixes(&hir))
            );
        }
    }
}
