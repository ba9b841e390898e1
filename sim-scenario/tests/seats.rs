//! `seats:`: outside systems in seats (issue 10). A seat has an https URL, optional trust
//! files and an optional identity; a scenario with a seat runs in real time (an outside system
//! keeps its own clock), so any other speed is refused with the seat's position.

use sim_scenario::{parse, seat_speed_problem, Seat, Speed};

const SEATED: &str = "
clock: {start: 2026-03-04T10:00:00+01:00, duration: 1m, speed: 1}
seats:
  kmd-jc:
    url: https://jc.example:9443/recv
    trust: [my-ca.pem]
    identity: '12345678:0f3c2a1e-1111-4222-8333-444455556666'
";

#[test]
fn seats_are_read_with_url_trust_and_identity() {
    let s = parse(SEATED).unwrap();
    assert_eq!(
        s.seats,
        vec![Seat {
            name: "kmd-jc".into(),
            url: "https://jc.example:9443/recv".into(),
            trust: vec!["my-ca.pem".into()],
            identity: Some("12345678:0f3c2a1e-1111-4222-8333-444455556666".into()),
        }]
    );
    // The canonical expansion keeps them (it is what a report's scenario hash stands for).
    let again = parse(&s.to_yaml()).unwrap();
    assert_eq!(again.seats, s.seats);
    assert!(parse("seats: {}\n").unwrap().seats.is_empty());
}

#[test]
fn a_seat_needs_an_https_url_and_a_cvr_identity() {
    let e = parse("clock: {speed: 1}\nseats:\n  kmd-jc: {url: http://x/y}\n").unwrap_err();
    assert!(e.message.contains("https://"), "{e}");
    assert_eq!(e.line, 3, "{e}");
    let e = parse("clock: {speed: 1}\nseats:\n  kmd-jc: {url: 'https://x/y', identity: '1234'}\n")
        .unwrap_err();
    assert!(e.message.contains("CVR"), "{e}");
    let e = parse("clock: {speed: 1}\nseats:\n  kmd-jc: {url: 'https://x/y', colour: red}\n")
        .unwrap_err();
    assert!(e.message.contains("colour"), "{e}");
}

#[test]
fn a_seat_runs_in_real_time_only() {
    let e = parse("clock: {speed: max}\nseats:\n  kmd-jc: {url: 'https://x/y'}\n").unwrap_err();
    assert!(e.message.contains("keeps its own clock"), "{e}");
    assert_eq!(e.line, 3, "at the seats: {e}");
    let e = parse("clock: {speed: 60}\nseats:\n  kmd-jc: {url: 'https://x/y'}\n").unwrap_err();
    assert!(e.message.contains("speed 60"), "{e}");
    // And after `--speed` overrides a file that was fine.
    let s = parse(SEATED)
        .unwrap()
        .with_overrides(None, Some(Speed::Max));
    assert!(seat_speed_problem(&s.seats, s.clock.speed).is_some());
    assert!(seat_speed_problem(&[], Speed::Max).is_none());
}
