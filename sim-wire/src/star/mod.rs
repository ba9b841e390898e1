//! SF1612 STAR side (seed 004 §3.3): being built (issue 13).
