//! The 98 municipalities (kommunekode and CVR): the only authorities whose CVR may stand in
//! an AuthorityContext of this service, so a scenario can name them either way, the platform
//! routes only them (SP-3), and a CVR that is no municipality is refused where it is given.
//!
//! The table is `scenarios/municipalities.csv`, compiled in (the same file the `sim` crate
//! embeds), so there is one source and no file is read at run time (this crate does no IO).

use std::sync::OnceLock;

use crate::Cvr;

/// `scenarios/municipalities.csv`: `kommunekode,cvr,navn`.
const MUNICIPALITIES_CSV: &str = include_str!("../../scenarios/municipalities.csv");

/// How many municipalities Denmark has; the national volume (rule KSD-13) is shared among
/// them.
pub const MUNICIPALITY_COUNT: usize = 98;

/// One municipality.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Municipality {
    /// The three-digit kommunekode (101 København ... 860 Hjørring).
    pub kode: u16,
    /// The municipality's CVR: what the AuthorityContext and routing use (rule SP-3).
    pub cvr: Cvr,
    /// The name, for messages.
    pub navn: String,
}

/// All municipalities of the table, in file order. Lines that do not parse are skipped (a
/// test checks that there are 98).
pub fn municipalities() -> &'static [Municipality] {
    static TABLE: OnceLock<Vec<Municipality>> = OnceLock::new();
    TABLE.get_or_init(|| {
        MUNICIPALITIES_CSV
            .lines()
            .skip(1)
            .filter_map(|line| {
                let mut f = line.splitn(3, ',');
                let kode = f.next()?.trim().parse().ok()?;
                let cvr = f.next()?.trim().parse().ok()?;
                let navn = f.next()?.trim().to_string();
                Some(Municipality { kode, cvr, navn })
            })
            .collect()
    })
}

/// The municipality with this CVR.
pub fn by_cvr(cvr: Cvr) -> Option<&'static Municipality> {
    municipalities().iter().find(|m| m.cvr == cvr)
}

/// The municipality with this kommunekode.
pub fn by_kode(kode: u16) -> Option<&'static Municipality> {
    municipalities().iter().find(|m| m.kode == kode)
}

/// KOMBIT's CVR: the platform's own organisation, and the ObjektAnsvarligMyndighed of a
/// Haendelsesbesked whose person has no known residence municipality (SP-11).
pub const KOMBIT_CVR: &str = "19435075";

/// The simulated CPR register (the platform's CPR replica in seed 004 §3.1.3.2.1): the
/// municipality a person lives in, or `None` for someone with no Danish residence (about 1 in
/// 64, e.g. living in Greenland). A pure function of the CPR number, so every program that
/// asks (the platform publishing SF1612 messages, STAR choosing an event's authority, the
/// checkers) gets the same answer without sharing a table.
pub fn residence_of(cpr: &crate::Cpr) -> Option<&'static Municipality> {
    // sim-seed's hash (FNV-1a) of the ten digits: spreads consecutive CPR numbers over the
    // municipalities.
    let h = sim_seed::hash(cpr.to_string().as_bytes());
    if h.is_multiple_of(64) {
        return None;
    }
    let all = municipalities();
    all.get(((h >> 6) % all.len() as u64) as usize)
}

/// Whether the 8 digits of `cvr` pass the CVR modulus-11 check (weights 2 7 6 5 4 3 2 1).
pub fn cvr_check_digit_ok(cvr: Cvr) -> bool {
    let digits = cvr.to_string();
    let sum: u32 = digits
        .bytes()
        .zip([2u32, 7, 6, 5, 4, 3, 2, 1])
        .map(|(b, w)| u32::from(b - b'0') * w)
        .sum();
    sum.is_multiple_of(11)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// SP-11: the CPR register answers the same for the same person, spreads people over
    /// many municipalities, and knows no residence for a few.
    #[test]
    fn the_cpr_register_is_a_function_of_the_cpr() {
        let cprs: Vec<crate::Cpr> = (0..2000u32)
            .map(|i| format!("0101{:02}{:04}", 50 + i % 40, i).parse().unwrap())
            .collect();
        let a: Vec<_> = cprs
            .iter()
            .map(|c| residence_of(c).map(|m| m.kode))
            .collect();
        let b: Vec<_> = cprs
            .iter()
            .map(|c| residence_of(c).map(|m| m.kode))
            .collect();
        assert_eq!(a, b);
        let unknown = a.iter().filter(|m| m.is_none()).count();
        assert!((5..100).contains(&unknown), "{unknown}");
        let distinct: std::collections::HashSet<_> = a.iter().flatten().collect();
        assert!(distinct.len() > 90, "{}", distinct.len());
    }

    #[test]
    fn ninety_eight_municipalities_with_valid_cvrs() {
        let all = municipalities();
        assert_eq!(all.len(), MUNICIPALITY_COUNT);
        assert!(all.iter().all(|m| cvr_check_digit_ok(m.cvr)));
        assert_eq!(
            by_kode(101).map(|m| m.cvr.to_string()).as_deref(),
            Some("64942212")
        );
    }
}
