//! The Beskedfordeler envelope and services (seed 004 §3.1, §3.2): being built (issue 13).
