//! The journal: every filter field, counters, serde shapes, and recording inside a caller's
//! transaction.

use sim_store::{
    Counter, Db, Direction, Journal, JournalEntry, JournalFilter, Label, Outcome, JOURNAL_MIGRATION,
};
use sim_wire::Operation;
use time::macros::datetime;
use time::OffsetDateTime;

const T0: OffsetDateTime = datetime!(2025-03-01 08:00:00.123 UTC);

fn entry(n: i64) -> JournalEntry {
    JournalEntry {
        at: T0 + time::Duration::minutes(n),
        direction: if n % 2 == 0 {
            Direction::In
        } else {
            Direction::Out
        },
        operation: Label::request(if n < 3 {
            Operation::SendOpdateringFravaer
        } else {
            Operation::ModtagForretningsSvarJc
        }),
        transaktion_id: Some(format!("tx-{}", n / 2)),
        call_uuid: (n != 5).then(|| format!("call-{n}")),
        peer: Some("CVR 19435075 UUID 0f3c".to_string()),
        municipality: Some(if n < 4 { "29189374" } else { "11931316" }.to_string()),
        cpr: Some(format!("010190{:04}", 1000 + n % 3)),
        outcome: [
            Outcome::Ok,
            Outcome::Fejl,
            Outcome::Ok,
            Outcome::Advarsel,
            Outcome::Ok,
            Outcome::Fault("SP-4".into()),
        ][n as usize]
            .clone(),
        detail: (n == 1).then(|| "KSD-4".to_string()),
        raw: format!("<e n=\"{n}\"/>"),
    }
}

/// A journal with entries 0..6, whose ids are 1..=6.
async fn journal() -> (tempfile::TempDir, Journal) {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(&dir.path().join("j.db"), &[JOURNAL_MIGRATION]).unwrap();
    let journal = Journal::new(db);
    for n in 0..6 {
        assert_eq!(journal.record(entry(n)).await.unwrap(), n + 1);
    }
    (dir, journal)
}

async fn ids(journal: &Journal, f: JournalFilter) -> Vec<i64> {
    journal
        .query(f)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.id)
        .collect()
}

#[tokio::test]
async fn every_filter_field_selects_what_it_names() {
    let (_dir, j) = journal().await;
    let s = |v: &str| Some(v.to_string());
    let cases: Vec<(&str, JournalFilter, Vec<i64>)> = vec![
        (
            "no filter",
            JournalFilter::default(),
            vec![1, 2, 3, 4, 5, 6],
        ),
        (
            "transaktion_id",
            JournalFilter {
                transaktion_id: s("tx-1"),
                ..Default::default()
            },
            vec![3, 4],
        ),
        (
            "call_uuid",
            JournalFilter {
                call_uuid: s("call-4"),
                ..Default::default()
            },
            vec![5],
        ),
        (
            "cpr",
            JournalFilter {
                cpr: s("0101901001"),
                ..Default::default()
            },
            vec![2, 5],
        ),
        (
            "municipality",
            JournalFilter {
                municipality: s("11931316"),
                ..Default::default()
            },
            vec![5, 6],
        ),
        (
            "operation",
            JournalFilter {
                operation: s("KSD/SendOpdateringFravaer"),
                ..Default::default()
            },
            vec![1, 2, 3],
        ),
        (
            "direction in",
            JournalFilter {
                direction: Some(Direction::In),
                ..Default::default()
            },
            vec![1, 3, 5],
        ),
        (
            "direction out",
            JournalFilter {
                direction: Some(Direction::Out),
                ..Default::default()
            },
            vec![2, 4, 6],
        ),
        (
            "outcome",
            JournalFilter {
                outcome: s("OK"),
                ..Default::default()
            },
            vec![1, 3, 5],
        ),
        (
            "since is inclusive",
            JournalFilter {
                since: Some(T0 + time::Duration::minutes(4)),
                ..Default::default()
            },
            vec![5, 6],
        ),
        (
            "until is exclusive",
            JournalFilter {
                until: Some(T0 + time::Duration::minutes(2)),
                ..Default::default()
            },
            vec![1, 2],
        ),
        (
            "after_id",
            JournalFilter {
                after_id: Some(4),
                ..Default::default()
            },
            vec![5, 6],
        ),
        (
            "limit",
            JournalFilter {
                limit: Some(2),
                ..Default::default()
            },
            vec![1, 2],
        ),
        (
            "limit 0",
            JournalFilter {
                limit: Some(0),
                ..Default::default()
            },
            vec![],
        ),
        (
            "fields combine with AND",
            JournalFilter {
                outcome: s("OK"),
                municipality: s("29189374"),
                ..Default::default()
            },
            vec![1, 3],
        ),
        (
            "paging",
            JournalFilter {
                after_id: Some(2),
                limit: Some(2),
                ..Default::default()
            },
            vec![3, 4],
        ),
        (
            "no match",
            JournalFilter {
                cpr: s("9999999999"),
                ..Default::default()
            },
            vec![],
        ),
    ];
    for (name, filter, expected) in cases {
        assert_eq!(ids(&j, filter).await, expected, "{name}");
    }
}

#[tokio::test]
async fn entries_come_back_as_recorded() {
    let (_dir, j) = journal().await;
    let rows = j.query(JournalFilter::default()).await.unwrap();
    let back: Vec<JournalEntry> = rows.into_iter().map(|r| r.entry).collect();
    let recorded: Vec<JournalEntry> = (0..6).map(entry).collect();
    assert_eq!(
        back, recorded,
        "times with millisecond precision round-trip exactly"
    );
}

#[tokio::test]
async fn counters_group_by_operation_direction_and_outcome() {
    let (_dir, j) = journal().await;
    j.record(entry(0)).await.unwrap();
    let c = |op: &str, direction, outcome: &str, count| Counter {
        operation: op.parse().unwrap(),
        direction,
        outcome: outcome.parse().unwrap(),
        count,
    };
    assert_eq!(
        j.counters().await.unwrap(),
        vec![
            c("JC/ModtagForretningsSvar", Direction::In, "OK", 1),
            c("JC/ModtagForretningsSvar", Direction::Out, "ADVARSEL", 1),
            c("JC/ModtagForretningsSvar", Direction::Out, "FAULT:SP-4", 1),
            c("KSD/SendOpdateringFravaer", Direction::In, "OK", 3),
            c("KSD/SendOpdateringFravaer", Direction::Out, "FEJL", 1),
        ]
    );
}

#[tokio::test]
async fn record_in_commits_or_rolls_back_with_the_callers_own_state() {
    let dir = tempfile::tempdir().unwrap();
    let own = "CREATE TABLE IF NOT EXISTS cases (tx TEXT PRIMARY KEY);";
    let db = Db::open(&dir.path().join("j.db"), &[JOURNAL_MIGRATION, own]).unwrap();
    let journal = Journal::new(db.clone());

    let e = entry(0);
    let id = db
        .write(move |tx| {
            tx.execute("INSERT INTO cases (tx) VALUES ('tx-0')", [])?;
            Journal::record_in(tx, &e)
        })
        .await
        .unwrap();
    assert_eq!(id, 1);

    // The same case again: the state change fails, so the journal entry goes too.
    let e = entry(1);
    let again = db
        .write(move |tx| {
            Journal::record_in(tx, &e)?;
            tx.execute("INSERT INTO cases (tx) VALUES ('tx-0')", [])
        })
        .await;
    assert!(again.is_err());
    assert_eq!(ids(&journal, JournalFilter::default()).await, vec![1]);
}

#[test]
fn filter_deserializes_from_strings_and_rows_serialize_flat() {
    let f: JournalFilter = serde_json::from_value(serde_json::json!({
        "cpr": "0101901000",
        "direction": "out",
        "since": "2025-03-01T08:00:00Z",
        "limit": 5
    }))
    .unwrap();
    assert_eq!(f.cpr.as_deref(), Some("0101901000"));
    assert_eq!(f.direction, Some(Direction::Out));
    assert_eq!(f.since, Some(datetime!(2025-03-01 08:00:00 UTC)));
    assert_eq!(f.until, None);
    assert_eq!(f.limit, Some(5));

    let bad = serde_json::from_value::<JournalFilter>(serde_json::json!({"since": "yesterday"}));
    assert!(bad.is_err());

    let row = sim_store::JournalRow {
        id: 7,
        entry: entry(1),
    };
    let json = serde_json::to_value(&row).unwrap();
    assert_eq!(json["id"], 7);
    assert_eq!(json["at"], "2025-03-01T08:01:00.123Z");
    assert_eq!(json["direction"], "out");
    assert_eq!(json["detail"], "KSD-4");
    let back: JournalEntry = serde_json::from_value(json).unwrap();
    assert_eq!(back, entry(1));
}

/// Retention (issue 15): by age keeps the rows at most that old, by count the newest ones,
/// both at once the stricter; off deletes nothing; ids go on growing.
#[tokio::test]
async fn retention_prunes_by_age_and_by_count() {
    use sim_store::Retention;
    let (_dir, journal) = journal().await;
    let all = || JournalFilter::default();
    assert_eq!(journal.prune(Retention::default(), T0).await.unwrap(), 0);
    assert_eq!(ids(&journal, all()).await, vec![1, 2, 3, 4, 5, 6]);
    // Entry n is at T0 + n minutes; an hour after T0 + 2 min, only n >= 2 are an hour old or less.
    let one_hour = Retention {
        max_age_hours: Some(1),
        max_rows: None,
    };
    let now = T0 + time::Duration::minutes(62);
    assert_eq!(journal.prune(one_hour, now).await.unwrap(), 2);
    assert_eq!(ids(&journal, all()).await, vec![3, 4, 5, 6]);
    let three = Retention {
        max_age_hours: None,
        max_rows: Some(3),
    };
    assert_eq!(journal.prune(three, now).await.unwrap(), 1);
    assert_eq!(ids(&journal, all()).await, vec![4, 5, 6]);
    assert_eq!(
        journal.record(entry(0)).await.unwrap(),
        7,
        "ids are never reused"
    );
    // Five hours on, all four are older than an hour.
    let later = T0 + time::Duration::hours(5);
    assert_eq!(journal.prune(one_hour, later).await.unwrap(), 4);
    assert_eq!(ids(&journal, all()).await, Vec::<i64>::new());
}
