//! Telling the owner of a thread that a guest call on it waits in the host.
//!
//! A call blocks its thread while the host does I/O for it (outbound HTTP, the kv
//! load) or sleeps on its behalf. A pool that runs calls on a few threads of its
//! own needs to know, so it can hand the waiting thread's place to another call
//! instead of counting it as busy (`registry/guest_threads.rs`). The runtime does
//! not know who owns the thread: the owner registers a [`WaitListener`] on it, and
//! every wait in the host's own imports goes through [`waiting`] (a guest
//! blocking in WASI's `poll` is not heard). **Invariant:** each
//! [`WaitListener::started`] is followed by exactly one [`WaitListener::ended`] on
//! the same thread, even when the wait panics, and a wait inside a wait is not
//! heard again; a thread without a listener pays two thread-local reads per wait.

use std::cell::{Cell, RefCell};
use std::sync::Arc;

/// Told when a guest call on this thread starts and stops waiting in the host.
pub(crate) trait WaitListener: Send + Sync {
    /// The call is about to block in the host.
    fn started(&self);
    /// The call runs guest code again.
    fn ended(&self);
}

thread_local! {
    static LISTENER: RefCell<Option<Arc<dyn WaitListener>>> = const { RefCell::new(None) };
    /// Whether a wait on this thread is under way (one heard already).
    static IN_WAIT: Cell<bool> = const { Cell::new(false) };
}

/// Registers `listener` for the waits of guest calls on the current thread
/// (replacing any before it).
pub(crate) fn listen_on_this_thread(listener: Arc<dyn WaitListener>) {
    LISTENER.with(|l| *l.borrow_mut() = Some(listener));
}

/// Runs `f`, a wait in the host, between the thread's listener's `started` and
/// `ended`.
pub(crate) fn waiting<R>(f: impl FnOnce() -> R) -> R {
    struct Ended(Arc<dyn WaitListener>);
    impl Drop for Ended {
        fn drop(&mut self) {
            IN_WAIT.with(|w| w.set(false));
            self.0.ended();
        }
    }
    if IN_WAIT.with(Cell::get) {
        return f();
    }
    let listener = LISTENER.with(|l| l.borrow().clone());
    let _ended = listener.map(|l| {
        l.started();
        // Set once `started` returned: the guard that clears it exists from here.
        IN_WAIT.with(|w| w.set(true));
        Ended(l)
    });
    f()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicI32, Ordering};

    #[derive(Default)]
    struct Count(AtomicI32, AtomicI32);
    impl WaitListener for Count {
        fn started(&self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
        fn ended(&self) {
            self.1.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn a_listener_hears_each_wait_on_its_thread_once_even_a_panicking_one() {
        let count = Arc::new(Count::default());
        let on_thread = count.clone();
        std::thread::spawn(move || {
            listen_on_this_thread(on_thread);
            assert_eq!(waiting(|| 5), 5);
            // A wait inside a wait is one wait.
            assert_eq!(waiting(|| waiting(|| 6)), 6);
            let panicked = std::panic::catch_unwind(|| waiting(|| panic!("in the wait")));
            assert!(panicked.is_err());
        })
        .join()
        .unwrap();
        assert_eq!(count.0.load(Ordering::SeqCst), 3);
        assert_eq!(count.1.load(Ordering::SeqCst), 3);
        // Another thread has no listener: nothing is heard.
        assert_eq!(waiting(|| 1), 1);
        assert_eq!(count.0.load(Ordering::SeqCst), 3);
    }
}
