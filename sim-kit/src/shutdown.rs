//! One shutdown signal, many waiters: each program's accept loop, admin server and outbox
//! worker stop on the same signal, which arrives as one future (Ctrl-C, a test, `sim up`).

use std::future::Future;

use tokio::sync::watch;

/// A cloneable view of a shutdown signal.
#[derive(Debug, Clone)]
pub struct Shutdown(watch::Receiver<bool>);

/// Sends the signal to every [`Shutdown`] made from it.
#[derive(Debug)]
pub struct Trigger(watch::Sender<bool>);

impl Shutdown {
    /// A signal and the trigger that fires it.
    pub fn new() -> (Trigger, Shutdown) {
        let (tx, rx) = watch::channel(false);
        (Trigger(tx), Shutdown(rx))
    }

    /// A signal that fires when `future` completes (spawns a small task on the current runtime).
    pub fn from_future(future: impl Future<Output = ()> + Send + 'static) -> Shutdown {
        let (trigger, shutdown) = Shutdown::new();
        tokio::spawn(async move {
            future.await;
            trigger.fire();
        });
        shutdown
    }

    /// Completes once the signal has fired (at once if it already has, or if the trigger is gone).
    pub fn wait(&self) -> impl Future<Output = ()> + Send + 'static {
        let mut rx = self.0.clone();
        async move {
            let _ = rx.wait_for(|fired| *fired).await;
        }
    }
}

impl Trigger {
    /// Fires the signal.
    pub fn fire(&self) {
        let _ = self.0.send(true);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn every_waiter_wakes_once_fired_even_late_ones() {
        let (trigger, s) = Shutdown::new();
        let early = tokio::spawn(s.wait());
        trigger.fire();
        early.await.unwrap();
        s.clone().wait().await;
    }
}
