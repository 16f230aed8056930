//! Minimises the logistic-regression objective with argmin's L-BFGS.
//!
//! Two things differ from a stock argmin run, both to honour scikit-learn's meaning of `tol`:
//! - the only convergence test is scikit-learn's, the inf-norm of the gradient against `tol`
//!   (checked at the start point too); argmin's own tests (an L2 norm, a fixed floor on the
//!   change of the loss) are not used, so a tight `tol` is reached instead of stopping early;
//! - the line search is Hager-Zhang's, whose approximate Wolfe conditions rely on the
//!   directional derivative once loss differences sink below rounding, which is what lets
//!   the gradient go down to 1e-10 and beyond.

use std::sync::Mutex;

use argmin::core::{
    CostFunction, Error as ArgminError, Executor, Gradient, IterState, KV, Problem, Solver, State,
    TerminationReason, TerminationStatus,
    observers::{Observe, ObserverMode},
};
use argmin::solver::linesearch::HagerZhangLineSearch;
use argmin::solver::quasinewton::LBFGS;

use super::objective::Objective;
use crate::error::{Error, Result};
use crate::progress::Step;

/// Pairs of steps L-BFGS remembers (scikit-learn's, via scipy's default).
const HISTORY: usize = 10;

type Params = Vec<f64>;
type LbfgsState = IterState<Params, Params, (), (), (), f64>;

/// Where the optimiser stopped.
#[derive(Debug, Clone)]
pub(crate) struct Minimum {
    pub params: Vec<f64>,
    pub loss: f64,
    pub gradient_norm: f64,
    pub n_iter: u64,
    pub converged: bool,
    /// Why it stopped when it did not converge.
    pub stop_reason: Option<String>,
}

/// Runs L-BFGS from zero until the gradient's inf-norm is at most `tol` or `max_iter`
/// iterations have run.
pub(crate) fn minimize<'a>(
    objective: &'a Objective<'a>,
    max_iter: u64,
    tol: f64,
    step: &Step,
) -> Result<Minimum> {
    let problem = Cached { objective, last: Mutex::new(None) };
    let solver =
        UntilGradientBelow { inner: LBFGS::new(HagerZhangLineSearch::new(), HISTORY), tol };
    let start = vec![0.0; objective.n_params()];
    let result = Executor::new(problem, solver)
        .configure(|state| state.param(start).max_iters(max_iter))
        .add_observer(Reporter(step.clone()), ObserverMode::Always)
        .run()
        .map_err(|e| Error::Solver(format!("the optimiser failed: {e}")))?;

    let state = result.state();
    let params = state
        .get_param()
        .cloned()
        .ok_or_else(|| Error::Solver("the optimiser returned no parameters".into()))?;
    let gradient_norm = state.get_gradient().map_or(f64::INFINITY, |g| inf_norm(g));
    let converged = gradient_norm <= tol;
    let stop_reason = match state.get_termination_reason() {
        _ if converged => None,
        Some(TerminationReason::MaxItersReached) | None => {
            Some(format!("reached max_iter = {max_iter} iterations"))
        }
        Some(reason) => Some(reason.text().to_owned()),
    };
    Ok(Minimum {
        params,
        loss: state.get_cost(),
        gradient_norm,
        n_iter: state.get_iter(),
        converged,
        stop_reason,
    })
}

pub(crate) fn inf_norm(v: &[f64]) -> f64 {
    v.iter().fold(0.0, |m, x| m.max(x.abs()))
}

/// The objective as an argmin problem. argmin asks for the loss and the gradient separately,
/// often at the same point; both come from one pass over the data, so the last pass is kept.
struct Cached<'a> {
    objective: &'a Objective<'a>,
    last: Mutex<Option<(Params, f64, Params)>>,
}

impl Cached<'_> {
    fn evaluate(&self, params: &Params) -> (f64, Params) {
        let mut last = self.last.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some((at, loss, grad)) = last.as_ref()
            && at == params
        {
            return (*loss, grad.clone());
        }
        let mut grad = vec![0.0; params.len()];
        let loss = self.objective.evaluate(params, &mut grad);
        *last = Some((params.clone(), loss, grad.clone()));
        (loss, grad)
    }
}

impl CostFunction for Cached<'_> {
    type Param = Params;
    type Output = f64;

    fn cost(&self, params: &Params) -> Result<f64, ArgminError> {
        Ok(self.evaluate(params).0)
    }
}

impl Gradient for Cached<'_> {
    type Param = Params;
    type Gradient = Params;

    fn gradient(&self, params: &Params) -> Result<Params, ArgminError> {
        Ok(self.evaluate(params).1)
    }
}

/// Wraps a solver so that it stops exactly when the gradient's inf-norm is at most `tol`.
struct UntilGradientBelow<S> {
    inner: S,
    tol: f64,
}

impl<O, S: Solver<O, LbfgsState>> Solver<O, LbfgsState> for UntilGradientBelow<S> {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn init(
        &mut self,
        problem: &mut Problem<O>,
        state: LbfgsState,
    ) -> Result<(LbfgsState, Option<KV>), ArgminError> {
        self.inner.init(problem, state)
    }

    fn next_iter(
        &mut self,
        problem: &mut Problem<O>,
        state: LbfgsState,
    ) -> Result<(LbfgsState, Option<KV>), ArgminError> {
        self.inner.next_iter(problem, state)
    }

    fn terminate(&mut self, state: &LbfgsState) -> TerminationStatus {
        match state.get_gradient() {
            Some(g) if inf_norm(g) <= self.tol => {
                TerminationStatus::Terminated(TerminationReason::SolverConverged)
            }
            _ => TerminationStatus::NotTerminated,
        }
    }
}

/// Shows the iteration count and loss on the progress bar.
struct Reporter(Step);

impl Observe<LbfgsState> for Reporter {
    fn observe_iter(&mut self, state: &LbfgsState, _kv: &KV) -> Result<(), ArgminError> {
        self.0.set(state.get_iter());
        self.0.message(format!("loss {:.8}", state.get_cost()));
        Ok(())
    }
}
