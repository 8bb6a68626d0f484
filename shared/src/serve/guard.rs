//! One connection's socket, watched: the deadlines hyper does not keep and the head limits it
//! answers without a problem body.
//!
//! hyper's own `header_read_timeout` starts when a connection goes idle, so it cannot tell an
//! idle keep-alive connection (which may wait [`ServeLimits::idle_timeout`], 60 s) from one
//! trickling a request head (which gets [`ServeLimits::header_timeout`], 10 s). The socket sees
//! every byte, and [`Activity`] (told by the service when a request starts and when its response
//! is done) says which phase the connection is in:
//!
//! - waiting for a head: fresh connections get the header timeout from accept, kept-alive ones
//!   the idle timeout from their last response; the first byte of a head starts the header
//!   timeout (fresh connections keep their accept deadline, so trickling never extends it);
//! - reading a head: the bytes are counted ([`HeadScanner`]); an over-long head is answered with
//!   its problem response, the rest of the request is drained for a moment (so the client reads
//!   the answer instead of a reset) and the connection is closed;
//! - a request in flight: no deadline here; `serve`'s request timeout bounds it.
//!
//! A missed deadline fails the read, and hyper closes the connection.

use super::head::{HeadScanner, Scan, rejection};
use super::limits::ServeLimits;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker, ready};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

/// How long a refused connection's remaining request is read and dropped before closing.
const LINGER: Duration = Duration::from_secs(2);
/// The most bytes read and dropped after a refusal.
const LINGER_BYTES: usize = 1024 * 1024;

/// What the service tells the socket: requests started, and requests whose response is done.
#[derive(Debug, Default)]
pub struct Activity {
    started: AtomicU64,
    in_flight: AtomicUsize,
    /// The connection task, woken when a request ends: hyper may have read (and found nothing)
    /// while the response was still in flight, and the idle deadline must start anyway.
    reader: Mutex<Option<Waker>>,
}

impl Activity {
    /// Marks a request as started; it ends when the guard is dropped (with the response body,
    /// or with the handler if the connection goes first).
    pub fn begin(self: &Arc<Self>) -> InFlight {
        self.started.fetch_add(1, Ordering::AcqRel);
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        InFlight(Arc::clone(self))
    }

    /// Remembers the task reading the socket, to wake it when a request ends.
    fn register(&self, waker: &Waker) {
        if let Ok(mut reader) = self.reader.lock() {
            match reader.as_mut() {
                Some(known) if known.will_wake(waker) => {}
                _ => *reader = Some(waker.clone()),
            }
        }
    }
}

/// A request in progress on a connection.
#[derive(Debug)]
pub struct InFlight(Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
        let reader = self.0.reader.lock().ok().and_then(|mut r| r.take());
        if let Some(reader) = reader {
            reader.wake();
        }
    }
}

enum Phase {
    /// No byte of the next head yet.
    Waiting {
        fresh: bool,
    },
    Head(HeadScanner),
    /// The head is complete; the service is about to start.
    HeadDone,
    /// A request is in flight.
    Busy,
    /// Writing a refusal, then draining what the client still sends.
    Refusing {
        response: Vec<u8>,
        written: usize,
        shut: bool,
        drained: usize,
    },
}

/// A socket with `serve`'s connection deadlines and head limits.
pub struct Guarded<S> {
    io: S,
    limits: ServeLimits,
    activity: Arc<Activity>,
    /// `Activity::started` when the phase was last decided.
    seen: u64,
    phase: Phase,
    deadline: Option<Instant>,
    timer: Option<Pin<Box<Sleep>>>,
}

impl<S> Guarded<S> {
    /// Watches a just-accepted connection.
    pub fn new(io: S, limits: ServeLimits, activity: Arc<Activity>) -> Self {
        Self {
            io,
            deadline: Some(Instant::now() + limits.header_timeout),
            limits,
            activity,
            seen: 0,
            phase: Phase::Waiting { fresh: true },
            timer: None,
        }
    }

    /// Moves to the phase the service's activity implies.
    fn sync_phase(&mut self) {
        if matches!(self.phase, Phase::Refusing { .. }) {
            return;
        }
        let started = self.activity.started.load(Ordering::Acquire);
        if self.activity.in_flight.load(Ordering::Acquire) > 0 {
            self.seen = started;
            self.phase = Phase::Busy;
            self.deadline = None;
        } else if started != self.seen || matches!(self.phase, Phase::Busy) {
            // A response finished since the last look: the connection is idle, kept alive.
            self.seen = started;
            self.phase = Phase::Waiting { fresh: false };
            self.deadline = Some(Instant::now() + self.limits.idle_timeout);
        }
    }

    /// Ready(Err) once the deadline has passed; otherwise arms the timer to wake the task then.
    fn poll_deadline(&mut self, cx: &mut Context<'_>) -> Poll<io::Error> {
        poll_deadline(&mut self.timer, self.deadline, cx)
    }
}

/// Ready(Err) once `deadline` has passed; otherwise arms `timer` to wake the task then.
fn poll_deadline(
    timer: &mut Option<Pin<Box<Sleep>>>,
    deadline: Option<Instant>,
    cx: &mut Context<'_>,
) -> Poll<io::Error> {
    let Some(deadline) = deadline else {
        return Poll::Pending;
    };
    let timer = match timer {
        Some(timer) => {
            if timer.deadline() != deadline {
                timer.as_mut().reset(deadline);
            }
            timer
        }
        None => timer.insert(Box::pin(tokio::time::sleep_until(deadline))),
    };
    match timer.as_mut().poll(cx) {
        Poll::Ready(()) => Poll::Ready(timed_out()),
        Poll::Pending => Poll::Pending,
    }
}

fn timed_out() -> io::Error {
    io::Error::new(
        io::ErrorKind::TimedOut,
        "the client sent no complete request in time",
    )
}

impl<S: AsyncRead + AsyncWrite + Unpin> Guarded<S> {
    /// Looks at bytes just read while a head is expected. `Some` means the head is refused.
    fn inspect(&mut self, bytes: &[u8]) -> Option<Vec<u8>> {
        if let Phase::Waiting { fresh } = self.phase {
            if !fresh {
                self.deadline = Some(Instant::now() + self.limits.header_timeout);
            }
            self.phase = Phase::Head(HeadScanner::default());
        }
        let Phase::Head(scanner) = &mut self.phase else {
            return None;
        };
        match scanner.feed(bytes) {
            Scan::Partial => None,
            Scan::Complete(_) => {
                self.phase = Phase::HeadDone;
                None
            }
            Scan::Refused(limit) => Some(rejection(limit)),
        }
    }

    /// Writes the refusal, half-closes, drains for [`LINGER`], then fails the read so hyper
    /// drops the connection (it never saw the refused head, so it writes nothing itself).
    fn poll_refuse(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let Self {
            io,
            phase,
            deadline,
            timer,
            ..
        } = self;
        let Phase::Refusing {
            response,
            written,
            shut,
            drained,
        } = phase
        else {
            return Poll::Ready(Ok(()));
        };
        while *written < response.len() {
            let n = ready!(Pin::new(&mut *io).poll_write(cx, &response[*written..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            *written += n;
        }
        if !*shut {
            ready!(Pin::new(&mut *io).poll_shutdown(cx))?;
            *shut = true;
        }
        let mut scratch = [0u8; 4096];
        while *drained < LINGER_BYTES {
            let mut buf = ReadBuf::new(&mut scratch);
            match Pin::new(&mut *io).poll_read(cx, &mut buf) {
                Poll::Ready(Ok(())) if buf.filled().is_empty() => break,
                Poll::Ready(Ok(())) => *drained += buf.filled().len(),
                Poll::Ready(Err(_)) => break,
                Poll::Pending => {
                    if poll_deadline(timer, *deadline, cx).is_pending() {
                        return Poll::Pending;
                    }
                    break;
                }
            }
        }
        Poll::Ready(Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "request head over the limit; refused",
        )))
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for Guarded<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if matches!(this.phase, Phase::Refusing { .. }) {
            return this.poll_refuse(cx);
        }
        // Registered before the phase is read, so a request ending in between still wakes us.
        this.activity.register(cx.waker());
        this.sync_phase();
        if this.deadline.is_some_and(|d| Instant::now() >= d) {
            return Poll::Ready(Err(timed_out()));
        }
        let before = buf.filled().len();
        match Pin::new(&mut this.io).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                let read = &buf.filled()[before..];
                if read.is_empty() {
                    return Poll::Ready(Ok(()));
                }
                if let Some(response) = this.inspect(read) {
                    buf.set_filled(before);
                    this.phase = Phase::Refusing {
                        response,
                        written: 0,
                        shut: false,
                        drained: 0,
                    };
                    this.deadline = Some(Instant::now() + LINGER);
                    return this.poll_refuse(cx);
                }
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => match this.poll_deadline(cx) {
                Poll::Ready(e) => Poll::Ready(Err(e)),
                Poll::Pending => Poll::Pending,
            },
        }
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for Guarded<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if matches!(this.phase, Phase::Refusing { .. }) {
            // The refusal owns the socket now; hyper has nothing of its own to say.
            return Poll::Ready(Ok(data.len()));
        }
        Pin::new(&mut this.io).poll_write(cx, data)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if matches!(this.phase, Phase::Refusing { .. }) {
            return Poll::Ready(Ok(bufs.iter().map(|b| b.len()).sum()));
        }
        Pin::new(&mut this.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if matches!(this.phase, Phase::Refusing { shut: true, .. }) {
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut this.io).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    fn limits(header_ms: u64, idle_ms: u64) -> ServeLimits {
        ServeLimits {
            header_timeout: Duration::from_millis(header_ms),
            idle_timeout: Duration::from_millis(idle_ms),
            ..ServeLimits::default()
        }
    }

    #[tokio::test]
    async fn a_half_sent_head_times_out_and_trickling_does_not_extend_it() {
        let (client, server) = tokio::io::duplex(1 << 16);
        let activity = Arc::new(Activity::default());
        let mut guarded = Guarded::new(server, limits(200, 60_000), activity);
        let (mut read_half, mut write_half) = tokio::io::split(client);
        let trickle = tokio::spawn(async move {
            for b in b"GET /health HTTP/1.1\r\nhost: x\r\n".iter().cycle() {
                if write_half.write_all(&[*b]).await.is_err() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        });
        let started = Instant::now();
        let mut buf = [0u8; 64];
        let error = loop {
            match guarded.read(&mut buf).await {
                Ok(0) => panic!("the client did not close"),
                Ok(_) => {}
                Err(e) => break e,
            }
        };
        assert_eq!(error.kind(), io::ErrorKind::TimedOut);
        let elapsed = started.elapsed();
        assert!(
            elapsed >= Duration::from_millis(200) && elapsed < Duration::from_secs(3),
            "{elapsed:?}"
        );
        drop(guarded);
        let _ = read_half.read(&mut buf).await;
        trickle.abort();
    }

    #[tokio::test]
    async fn a_kept_alive_connection_gets_the_idle_timeout_not_the_header_timeout() {
        let (mut client, server) = tokio::io::duplex(1 << 16);
        let activity = Arc::new(Activity::default());
        let mut guarded = Guarded::new(server, limits(100, 600), Arc::clone(&activity));
        client
            .write_all(b"GET / HTTP/1.1\r\n\r\n")
            .await
            .expect("write");
        let mut buf = [0u8; 64];
        assert!(guarded.read(&mut buf).await.expect("head") > 0);
        // The service runs the request and answers.
        drop(activity.begin());
        let idle_from = Instant::now();
        let error = guarded.read(&mut buf).await.expect_err("idle timeout");
        assert_eq!(error.kind(), io::ErrorKind::TimedOut);
        let idle = idle_from.elapsed();
        assert!(
            idle >= Duration::from_millis(600) && idle < Duration::from_secs(3),
            "{idle:?}"
        );
    }

    #[tokio::test]
    async fn a_read_parked_during_a_request_gets_the_idle_deadline_when_it_ends() {
        let (_client, server) = tokio::io::duplex(1 << 16);
        let activity = Arc::new(Activity::default());
        let mut guarded = Guarded::new(server, limits(100, 300), Arc::clone(&activity));
        let request = activity.begin();
        let reader = tokio::spawn(async move {
            let mut buf = [0u8; 8];
            guarded.read(&mut buf).await.map_err(|e| e.kind())
        });
        // On this single-threaded runtime the reader runs until it parks, mid-request.
        tokio::task::yield_now().await;
        drop(request);
        let read = tokio::time::timeout(Duration::from_secs(5), reader)
            .await
            .expect("the ended request woke the parked read")
            .expect("join");
        assert_eq!(read, Err(io::ErrorKind::TimedOut));
    }

    #[tokio::test]
    async fn no_deadline_while_a_request_is_in_flight() {
        let (mut client, server) = tokio::io::duplex(1 << 16);
        let activity = Arc::new(Activity::default());
        let mut guarded = Guarded::new(server, limits(50, 50), Arc::clone(&activity));
        let request = activity.begin();
        let reader = tokio::spawn(async move {
            let mut buf = [0u8; 8];
            let n = guarded.read(&mut buf).await;
            (n.map_err(|e| e.kind()), guarded)
        });
        tokio::time::sleep(Duration::from_millis(300)).await;
        client.write_all(b"body").await.expect("write");
        let (n, _guarded) = reader.await.expect("join");
        assert_eq!(
            n,
            Ok(4),
            "a body read well past both timeouts still succeeds"
        );
        drop(request);
    }

    #[tokio::test]
    async fn an_over_long_request_line_is_answered_with_problem_json() {
        let (client, server) = tokio::io::duplex(1 << 20);
        let activity = Arc::new(Activity::default());
        let mut guarded = Guarded::new(server, limits(5_000, 5_000), activity);
        let (mut read_half, mut write_half) = tokio::io::split(client);
        let path = "a".repeat(100 * 1024);
        let send = tokio::spawn(async move {
            let _ = write_half
                .write_all(format!("GET /{path} HTTP/1.1\r\nhost: x\r\n\r\n").as_bytes())
                .await;
            let _ = write_half.shutdown().await;
        });
        let mut buf = vec![0u8; 16 * 1024];
        let error = loop {
            match guarded.read(&mut buf).await {
                Ok(0) => panic!("EOF instead of a refusal"),
                Ok(_) => {}
                Err(e) => break e,
            }
        };
        assert_eq!(error.kind(), io::ErrorKind::InvalidData);
        drop(guarded);
        let mut answer = String::new();
        read_half.read_to_string(&mut answer).await.expect("read");
        assert!(answer.starts_with("HTTP/1.1 414 "), "{answer}");
        assert!(answer.contains("application/problem+json"), "{answer}");
        send.await.expect("sender");
    }
}
