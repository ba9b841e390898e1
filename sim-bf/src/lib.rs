//! The simulated Beskedfordeler for SF1612. Skeleton: being built (issue 13).
