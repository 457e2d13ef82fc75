//! The verdicts' stream: what it holds, and for how long.

use super::*;

/// The verdicts over `n` handovers of one instance between two directors, the old
/// master leaving a second before the new one takes over, each director complaining
/// of the other's adverts while it is MASTER: the failovers found and the most held
/// at once.
fn handovers(n: i64) -> (usize, Held) {
    let mut r = Records::new(64);
    let mut ms = ExtSort::new(64);
    let mut seq = 0;
    for i in 0..n {
        let host = ["lb-a", "lb-b"][(i % 2) as usize];
        for (dt, master) in [(0, true), (9, false)] {
            let t = cross::Transition {
                time: (i * 10 + dt) * 1_000_000,
                host: host.to_string(),
                iname: "VI_1".to_string(),
                master,
                line: format!("{host} line {i}"),
            };
            seq += 1;
            r.push_with(
                |k| record::transition_key(&t, seq, k),
                |p| record::transition_payload(&t, p),
            )
            .unwrap();
        }
        seq += 1;
        ms.push(Mismatch {
            iname: "VI_1".to_string(),
            start: (i * 10 + 1) * 1_000_000,
            seq,
            host: host.to_string(),
            end: Some((i * 10 + 3) * 1_000_000),
            said: Some("received an invalid passwd".to_string()),
        })
        .unwrap();
    }
    let sorted = r.finish().unwrap();
    let ms = ms.finish().unwrap();
    let mut failovers = 0;
    let held = verdicts(
        &sorted,
        &ms,
        2_000_000,
        &Settings::default(),
        &mut |i, _| {
            failovers += usize::from(i.kind == "vrrp_failover");
            Ok(())
        },
    )
    .unwrap();
    (failovers, held)
}

#[test]
fn intervals_are_held_while_a_verdict_needs_them_not_to_the_end() {
    let (few, held_few) = handovers(10);
    let (many, held_many) = handovers(5_000);
    assert_eq!(
        (few, many),
        (9, 4_999),
        "one failover per handover after the first"
    );
    assert!(
        held_many.intervals <= 3,
        "{held_many:?} held for 5,000 handovers"
    );
    assert_eq!(held_few.intervals, held_many.intervals);
}

#[test]
fn mismatches_are_held_while_a_split_brain_may_meet_them_not_to_the_end() {
    let (_, held) = handovers(5_000);
    // The sweep runs once as many were added as it kept, from 64 on.
    assert!(
        held.mismatches <= 2 * 64 + 2,
        "{held:?} held for 5,000 mismatches"
    );
}
