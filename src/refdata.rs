//! The reference data shipped in `scenarios/`: municipalities, vendor instances, and which
//! instance serves which municipality. Embedded in the binary so `sim` works from any
//! directory; a scenario can point at other files.

use std::collections::BTreeMap;

use anyhow::{bail, Context};
use sim_certs::VendorInstance;
use sim_wire::Cvr;

/// `scenarios/municipalities.csv`: kommunekode, CVR, name of Denmark's 98 municipalities.
pub const MUNICIPALITIES_CSV: &str = include_str!("../scenarios/municipalities.csv");
/// `scenarios/vendors.csv`: the jobcenter vendor instances.
pub const VENDORS_CSV: &str = include_str!("../scenarios/vendors.csv");
/// `scenarios/routing.csv`: municipality → vendor instance (the platform's initial routing).
pub const ROUTING_CSV: &str = include_str!("../scenarios/routing.csv");

/// One municipality.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Municipality {
    /// Kommunekode (101 = København).
    pub kode: u16,
    /// The municipality's CVR: what AuthorityContext and Myndighed carry.
    pub cvr: Cvr,
    /// Its name.
    pub navn: String,
}

/// The reference data, parsed and cross-checked.
#[derive(Debug, Clone)]
pub struct RefData {
    /// All municipalities, in file order.
    pub municipalities: Vec<Municipality>,
    /// Vendor instances, in file order.
    pub vendors: Vec<VendorInstance>,
    /// Municipality CVR → instance.
    pub routing: BTreeMap<Cvr, String>,
}

fn rows(text: &str) -> impl Iterator<Item = (usize, Vec<&str>)> {
    text.lines()
        .enumerate()
        .skip(1)
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| (i + 1, l.split(',').map(str::trim).collect()))
}

impl RefData {
    /// The embedded data.
    pub fn embedded() -> anyhow::Result<RefData> {
        RefData::parse(MUNICIPALITIES_CSV, VENDORS_CSV, ROUTING_CSV)
    }

    /// Parses and cross-checks: every routed municipality exists, every instance is a vendor.
    pub fn parse(municipalities: &str, vendors: &str, routing: &str) -> anyhow::Result<RefData> {
        let mut ms = Vec::new();
        for (line, f) in rows(municipalities) {
            if f.len() < 3 {
                bail!("municipalities.csv line {line}: expected kommunekode,cvr,navn");
            }
            ms.push(Municipality {
                kode: f[0]
                    .parse()
                    .with_context(|| format!("municipalities.csv line {line}: kommunekode"))?,
                cvr: f[1]
                    .parse()
                    .map_err(|e| anyhow::anyhow!("municipalities.csv line {line}: {e}"))?,
                navn: f[2..].join(","),
            });
        }
        let vendors = sim_certs::parse_vendors_csv(vendors)
            .map_err(|e| anyhow::anyhow!("vendors.csv: {e}"))?;
        let mut table = BTreeMap::new();
        for (line, f) in rows(routing) {
            if f.len() != 3 {
                bail!("routing.csv line {line}: expected kommunekode,cvr,instance");
            }
            let cvr: Cvr = f[1]
                .parse()
                .map_err(|e| anyhow::anyhow!("routing.csv line {line}: {e}"))?;
            if !ms.iter().any(|m| m.cvr == cvr) {
                bail!("routing.csv line {line}: {cvr} is not a municipality of municipalities.csv");
            }
            if !vendors.iter().any(|v| v.instance == f[2]) {
                bail!(
                    "routing.csv line {line}: instance '{}' is not in vendors.csv",
                    f[2]
                );
            }
            table.insert(cvr, f[2].to_string());
        }
        Ok(RefData {
            municipalities: ms,
            vendors,
            routing: table,
        })
    }

    /// The municipalities an instance serves, by CVR.
    pub fn municipalities_of(&self, instance: &str) -> Vec<Cvr> {
        self.routing
            .iter()
            .filter(|(_, i)| *i == instance)
            .map(|(c, _)| *c)
            .collect()
    }

    /// A municipality by CVR.
    pub fn municipality(&self, cvr: &Cvr) -> Option<&Municipality> {
        self.municipalities.iter().find(|m| m.cvr == *cvr)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_data_has_98_municipalities_all_routed() {
        let r = RefData::embedded().unwrap();
        assert_eq!(r.municipalities.len(), 98);
        assert_eq!(
            r.routing.len(),
            98,
            "rule SP-3: every municipality has a route"
        );
        assert!(r.vendors.len() >= 3, "rule JC-4: several vendors");
        let viborg: Cvr = "29189846".parse().unwrap();
        assert_eq!(r.municipality(&viborg).unwrap().navn, "Viborg Kommune");
        for v in &r.vendors {
            assert!(
                !r.municipalities_of(&v.instance).is_empty(),
                "{} serves nobody",
                v.instance
            );
        }
    }
}
