//! The simulated STAR (DFDG) for SF1612. Skeleton: being built (issue 13).
