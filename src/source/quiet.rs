//! Running parser code that may panic on hostile input (a PDF, a 7z) without the panic
//! ending the run or its message reaching stderr: the message could quote bytes of the
//! document. One process-wide wrapper around the panic hook, installed once, stays silent
//! on a thread while [`quietly`] runs there; [`loud`] turns it back on for our own code
//! called from inside (a callback that scans a member), whose panics are real bugs.

use std::any::Any;
use std::cell::Cell;
use std::panic::{self, AssertUnwindSafe};
use std::sync::Once;

thread_local! {
    /// Set while code that may panic on hostile input runs on this thread.
    static QUIET: Cell<bool> = const { Cell::new(false) };
}
static HOOK: Once = Once::new();

/// Runs `f`, turning a panic into `Err(payload)`; the panic hook prints nothing for it.
pub(crate) fn quietly<T>(f: impl FnOnce() -> T) -> Result<T, Box<dyn Any + Send>> {
    HOOK.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if !QUIET.with(Cell::get) {
                previous(info);
            }
        }));
    });
    let was = QUIET.with(|q| q.replace(true));
    let r = panic::catch_unwind(AssertUnwindSafe(f));
    QUIET.with(|q| q.set(was));
    r
}

/// Runs our own code `f` from inside [`quietly`] with panics reported as usual.
pub(crate) fn loud<T>(f: impl FnOnce() -> T) -> T {
    struct Restore(bool);
    impl Drop for Restore {
        fn drop(&mut self) {
            QUIET.with(|q| q.set(self.0));
        }
    }
    let _restore = Restore(QUIET.with(|q| q.replace(false)));
    f()
}

/// The text of a panic payload (`panic!` with a literal or a formatted message), or "".
pub fn panic_message(payload: &(dyn Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_default()
}

/// Whether the hook is silenced on this thread right now.
#[cfg(test)]
pub(crate) fn is_quiet() -> bool {
    QUIET.with(Cell::get)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quiet_inside_loud_in_callbacks_restored_after() {
        let r = quietly(|| {
            assert!(is_quiet());
            loud(|| assert!(!is_quiet()));
            assert!(is_quiet());
            panic!("hostile 4111");
        });
        assert_eq!(panic_message(&*r.unwrap_err()), "hostile 4111");
        assert!(!is_quiet());
    }
}
