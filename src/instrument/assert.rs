//! `assert_pending!`, `assert_ready!` and `assert_ready_eq!`: poll once and say what
//! was expected when it was not.

/// Polls `fut` once with `cx` and asserts that it returned `Pending`.
///
/// `fut` is any `Unpin` future place: an `Unpin` future, a `Pin<&mut F>` (from
/// `std::pin::pin!`) or a `Pin<Box<F>>`. `cx` is a `&mut Context`.
///
/// ```
/// use futures_test::task::noop_context;
/// let mut fut = std::pin::pin!(std::future::pending::<u8>());
/// pollcheck::assert_pending!(fut, &mut noop_context());
/// ```
#[macro_export]
macro_rules! assert_pending {
    ($fut:expr, $cx:expr $(,)?) => {
        match ::core::future::Future::poll(::core::pin::Pin::new(&mut $fut), $cx) {
            ::core::task::Poll::Pending => {}
            ::core::task::Poll::Ready(output) => ::core::panic!(
                "assertion failed: expected `{}` to be Pending, but it was Ready({:?})",
                ::core::stringify!($fut),
                output
            ),
        }
    };
}

/// Polls `fut` once with `cx`, asserts that it returned `Ready`, and evaluates to the
/// output.
///
/// ```
/// use futures_test::task::noop_context;
/// let mut fut = std::future::ready(3);
/// assert_eq!(pollcheck::assert_ready!(fut, &mut noop_context()), 3);
/// ```
#[macro_export]
macro_rules! assert_ready {
    ($fut:expr, $cx:expr $(,)?) => {
        match ::core::future::Future::poll(::core::pin::Pin::new(&mut $fut), $cx) {
            ::core::task::Poll::Ready(output) => output,
            ::core::task::Poll::Pending => ::core::panic!(
                "assertion failed: expected `{}` to be Ready, but it was Pending",
                ::core::stringify!($fut)
            ),
        }
    };
}

/// Polls `fut` once with `cx` and asserts that it returned `Ready(expected)`.
///
/// ```
/// use futures_test::task::noop_context;
/// let mut fut = std::future::ready("hi");
/// pollcheck::assert_ready_eq!(fut, &mut noop_context(), "hi");
/// ```
#[macro_export]
macro_rules! assert_ready_eq {
    ($fut:expr, $cx:expr, $expected:expr $(,)?) => {
        match ::core::future::Future::poll(::core::pin::Pin::new(&mut $fut), $cx) {
            ::core::task::Poll::Ready(output) => {
                if output != $expected {
                    ::core::panic!(
                        "assertion failed: expected `{}` to be Ready({:?}), but it was Ready({:?})",
                        ::core::stringify!($fut),
                        $expected,
                        output
                    );
                }
            }
            ::core::task::Poll::Pending => ::core::panic!(
                "assertion failed: expected `{}` to be Ready({:?}), but it was Pending",
                ::core::stringify!($fut),
                $expected
            ),
        }
    };
}
