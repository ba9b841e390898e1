//! The scenario file as YAML gives it: serde types whose every validated value is
//! [`Spanned`], so a semantic error can name its line and column. Only `schema` sees these;
//! the rest of the crate works with the validated types.

use std::fmt;

use serde::de::{self, value::MapAccessDeserializer, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_saphyr::Spanned;

/// A YAML scalar of any type, for fields that take a number or a word (`speed: max`,
/// municipalities as `101` or `"29189846"`).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Scalar {
    Str(String),
    Int(i128),
    Float(f64),
    Bool(bool),
}

impl fmt::Display for Scalar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scalar::Str(s) => f.write_str(s),
            Scalar::Int(i) => write!(f, "{i}"),
            Scalar::Float(x) => write!(f, "{x}"),
            Scalar::Bool(b) => write!(f, "{b}"),
        }
    }
}

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Scalar;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a number or a word")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Scalar, E> {
                Ok(Scalar::Str(v.to_string()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Scalar, E> {
                Ok(Scalar::Str(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Scalar, E> {
                Ok(Scalar::Int(i128::from(v)))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Scalar, E> {
                Ok(Scalar::Int(i128::from(v)))
            }
            fn visit_u128<E: de::Error>(self, v: u128) -> Result<Scalar, E> {
                i128::try_from(v)
                    .map(Scalar::Int)
                    .map_err(|_| E::custom("number too large"))
            }
            fn visit_i128<E: de::Error>(self, v: i128) -> Result<Scalar, E> {
                Ok(Scalar::Int(v))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Scalar, E> {
                Ok(Scalar::Float(v))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Scalar, E> {
                Ok(Scalar::Bool(v))
            }
        }
        d.deserialize_any(V)
    }
}

/// `all`, or a list.
#[derive(Debug)]
pub(crate) enum RawSelection {
    Word(String),
    List(Vec<Spanned<Scalar>>),
}

impl<'de> Deserialize<'de> for RawSelection {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawSelection;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("`all` or a list")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawSelection, E> {
                Ok(RawSelection::Word(v.to_string()))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<RawSelection, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element::<Spanned<Scalar>>()? {
                    items.push(item);
                }
                Ok(RawSelection::List(items))
            }
        }
        d.deserialize_any(V)
    }
}

/// A delay distribution: a plain duration (`2s`, fixed), or a map naming the distribution.
#[derive(Debug)]
pub(crate) enum RawDistribution {
    Fixed(String),
    Map(Box<RawDistMap>),
}

/// The map form of a distribution; which fields apply depends on `distribution`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawDistMap {
    pub distribution: Spanned<String>,
    pub value: Option<Spanned<String>>,
    pub min: Option<Spanned<String>>,
    pub max: Option<Spanned<String>>,
    pub mean: Option<Spanned<String>>,
    pub median: Option<Spanned<String>>,
    pub p99: Option<Spanned<String>>,
    pub cap: Option<Spanned<String>>,
}

impl<'de> Deserialize<'de> for RawDistribution {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawDistribution;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(
                    "a duration such as 2s, or a map such as {distribution: lognormal, median: 200ms, p99: 2s}",
                )
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawDistribution, E> {
                Ok(RawDistribution::Fixed(v.to_string()))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RawDistribution, A::Error> {
                RawDistMap::deserialize(MapAccessDeserializer::new(map))
                    .map(|m| RawDistribution::Map(Box::new(m)))
            }
        }
        d.deserialize_any(V)
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawScenario {
    pub name: Option<Spanned<String>>,
    pub description: Option<String>,
    pub seed: Option<u64>,
    pub clock: Option<RawClock>,
    pub municipalities: Option<Spanned<RawSelection>>,
    pub vendors: Option<Spanned<RawSelection>>,
    pub volume: Option<Spanned<RawVolume>>,
    pub profile: Option<RawProfile>,
    pub receipt_delay: Option<Spanned<RawDistribution>>,
    pub faults: Option<Vec<Spanned<RawFault>>>,
    pub expectations: Option<RawExpectations>,
    pub seats: Option<Spanned<std::collections::BTreeMap<String, Spanned<RawSeat>>>>,
    pub cases: Option<Spanned<RawCases>>,
    pub lookups: Option<Spanned<RawLookups>>,
    pub ky: Option<Spanned<RawKy>>,
    pub star: Option<Spanned<RawStar>>,
    pub vendor_policies:
        Option<Spanned<std::collections::BTreeMap<String, Spanned<RawVendorPolicy>>>>,
}

/// One entry of `vendor_policies:` (an instance's, or `all`): every field optional, laid
/// over what it overrides.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawVendorPolicy {
    pub sf2090: Option<Spanned<RawAckPolicy>>,
    pub sf2093: Option<Spanned<RawExtensionPolicy>>,
}

/// `sf2090:` of a vendor policy.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawAckPolicy {
    pub never_acknowledged: Option<Spanned<f64>>,
}

/// `sf2093:` of a vendor policy.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawExtensionPolicy {
    pub time_limited: Option<Spanned<f64>>,
    pub unlimited: Option<Spanned<f64>>,
    pub rejected: Option<Spanned<f64>>,
    pub never_answered: Option<Spanned<f64>>,
    pub extension_weeks: Option<Spanned<u32>>,
    pub answer_delay_min: Option<Spanned<String>>,
    pub answer_delay_max: Option<Spanned<String>>,
    pub late_share: Option<Spanned<f64>>,
}

/// `cases:`, KSD's case intake.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawCases {
    pub per_month: Option<Spanned<u64>>,
    pub total: Option<Spanned<u64>>,
    pub pensioner_share: Option<Spanned<f64>>,
    pub min_age_weeks: Option<Spanned<u32>>,
    pub max_age_weeks: Option<Spanned<u32>>,
}

/// `lookups:`, the jobcenters' SF2096 case look-ups.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawLookups {
    pub per_month: Option<Spanned<u64>>,
    pub total: Option<Spanned<u64>>,
    pub list_share: Option<Spanned<f64>>,
    pub adversarial: Option<Spanned<f64>>,
}

/// `ky:`, the jobcenters' SF1690 messages to KY.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawKy {
    pub per_month: Option<Spanned<u64>>,
    pub total: Option<Spanned<u64>>,
    pub allowance_share: Option<Spanned<f64>>,
}

/// `star:`, STAR's sick-leave statuses (SF1612).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawStar {
    pub per_month: Option<Spanned<u64>>,
    pub total: Option<Spanned<u64>>,
    pub job_every: Option<Spanned<String>>,
    pub population: Option<Spanned<u64>>,
    pub known_share: Option<Spanned<f64>>,
    pub delivery: Option<Spanned<String>>,
}

/// An outside system in a seat: where it is called, which CA its server certificate chains
/// to, and which system it is when it calls.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSeat {
    pub url: Spanned<String>,
    pub trust: Option<Vec<Spanned<String>>>,
    pub identity: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawClock {
    pub start: Option<Spanned<String>>,
    pub duration: Option<Spanned<String>>,
    pub speed: Option<Spanned<Scalar>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawVolume {
    pub per_month: Option<Spanned<u64>>,
    pub total: Option<Spanned<u64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawProfile {
    pub weekend_factor: Option<Spanned<f64>>,
    pub holiday_factor: Option<Spanned<f64>>,
    pub hourly: Option<Spanned<Vec<Spanned<f64>>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawWindow {
    pub from: Option<Spanned<String>>,
    pub to: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRecurring {
    pub enabled: Option<bool>,
    pub weekday: Option<Spanned<String>>,
    pub week: Option<Spanned<Scalar>>,
    pub months: Option<Vec<Spanned<u8>>>,
    pub from: Option<Spanned<String>>,
    pub to: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawFault {
    pub kind: Spanned<String>,
    pub name: Option<Spanned<String>>,
    pub probability: Option<Spanned<f64>>,
    pub window: Option<Spanned<RawWindow>>,
    pub target: Option<Spanned<String>>,
    pub delay: Option<Spanned<RawDistribution>>,
    pub after: Option<Spanned<String>>,
    pub codes: Option<Spanned<Vec<Spanned<u8>>>>,
    pub weekly: Option<Spanned<RawRecurring>>,
    pub monthly: Option<Spanned<RawRecurring>>,
    pub quarterly: Option<Spanned<RawRecurring>>,
    pub at: Option<Spanned<String>>,
    pub downtime: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawExpectations {
    pub max_lost: Option<u64>,
    pub max_misrouted: Option<u64>,
    pub max_processed_twice: Option<u64>,
    pub max_sla_violations: Option<u64>,
    pub sla_class: Option<Spanned<String>>,
    pub p50_roundtrip: Option<Spanned<String>>,
    pub p99_roundtrip: Option<Spanned<String>>,
    pub liveness_deadline: Option<Spanned<String>>,
    pub min_accepted_ratio: Option<Spanned<f64>>,
}
