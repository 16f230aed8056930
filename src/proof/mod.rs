//! What proves a model file: it runs in tract ([`runtime`], with the operators tract lacks or
//! gets wrong supplied by [`ml_ops`]), its predictions match the native pipeline's within a stated
//! tolerance ([`compare`]), and it reproduces its outputs on rows made from its own scaler's
//! parameters ([`probes`]).

pub mod compare;
pub mod ml_ops;
pub mod probes;
pub mod runtime;
