//! [`ReadHalf`] and [`WriteHalf`]: one [`WebSocketStream`] used from two
//! tasks, one reading and one writing.
//!
//! Both halves share the stream behind a mutex held only for the length of
//! one poll, never across an `.await`. The subtle part is waking: reading
//! writes too (pongs, the close echo), and a transport keeps one waker per
//! direction, so the half that polled a direction last would take the other
//! half's wake-up with it. Every poll therefore goes to the transport with
//! one shared *proxy* waker, and a wake-up wakes whichever halves are
//! waiting; a half woken for nothing polls once more and waits again.

use std::future::poll_fn;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Wake, Waker};

use ::tokio::io::{AsyncRead, AsyncWrite};

use super::{Error, WebSocketStream};
use crate::frame::CloseCode;
use crate::protocol::{Event, OwnedEvent, Sender};

/// The receiving half of a split [`WebSocketStream`]: events, pongs and the
/// close echo (which it writes, as the whole stream does).
pub struct ReadHalf<S> {
    shared: Arc<Shared<S>>,
}

/// The sending half of a split [`WebSocketStream`]: messages, pings, the
/// close, as methods or as a `Sink`.
pub struct WriteHalf<S> {
    shared: Arc<Shared<S>>,
}

struct Shared<S> {
    ws: Mutex<WebSocketStream<S>>,
    waiting: Arc<Waiting>,
    /// The waker the transport and the timer see: it wakes both halves.
    proxy: Waker,
}

/// The wakers of the halves waiting on the transport or the timer.
#[derive(Default)]
struct Waiting {
    reader: Mutex<Option<Waker>>,
    writer: Mutex<Option<Waker>>,
}

impl Wake for Waiting {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        for slot in [&self.reader, &self.writer] {
            if let Some(waker) = lock(slot).take() {
                waker.wake();
            }
        }
    }
}

/// A poisoned lock still holds a consistent stream: a panic in an event
/// closure happens after the connection took the event.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl<S> Shared<S> {
    /// Polls the stream for one half: that half's waker is noted first (so a
    /// wake-up between the poll and the note is not lost), then the stream
    /// is polled with the proxy waker.
    fn poll<R>(
        &self,
        half: &Mutex<Option<Waker>>,
        cx: &mut Context<'_>,
        poll: impl FnOnce(&mut WebSocketStream<S>, &mut Context<'_>) -> Poll<R>,
    ) -> Poll<R> {
        {
            let mut slot = lock(half);
            match slot.as_ref() {
                Some(waker) if waker.will_wake(cx.waker()) => {}
                _ => *slot = Some(cx.waker().clone()),
            }
        }
        let mut proxy = Context::from_waker(&self.proxy);
        poll(&mut lock(&self.ws), &mut proxy)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> WebSocketStream<S> {
    /// Splits the stream into a reading and a writing half, for two tasks.
    /// [`ReadHalf::reunite`] puts them back together.
    pub fn split(self) -> (ReadHalf<S>, WriteHalf<S>) {
        let waiting = Arc::new(Waiting::default());
        let shared = Arc::new(Shared {
            ws: Mutex::new(self),
            proxy: Waker::from(waiting.clone()),
            waiting,
        });
        (
            ReadHalf {
                shared: shared.clone(),
            },
            WriteHalf { shared },
        )
    }
}

/// [`ReadHalf::reunite`] was given halves of two different streams.
#[derive(Debug)]
pub struct ReuniteError<S>(pub ReadHalf<S>, pub WriteHalf<S>);

impl<S> std::fmt::Display for ReuniteError<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the halves come from two different WebSocket streams")
    }
}

impl<S: std::fmt::Debug> std::error::Error for ReuniteError<S> {}

impl<S> std::fmt::Debug for ReadHalf<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ReadHalf")
    }
}

impl<S> std::fmt::Debug for WriteHalf<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WriteHalf")
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> ReadHalf<S> {
    /// Puts the halves of one stream back together.
    pub fn reunite(self, write: WriteHalf<S>) -> Result<WebSocketStream<S>, ReuniteError<S>> {
        if !Arc::ptr_eq(&self.shared, &write.shared) {
            return Err(ReuniteError(self, write));
        }
        drop(write);
        let shared = Arc::into_inner(self.shared).expect("the two halves were the only owners");
        Ok(shared
            .ws
            .into_inner()
            .unwrap_or_else(PoisonError::into_inner))
    }

    /// [`WebSocketStream::next_event_with`] on this half: the closure runs
    /// while the stream is locked, so it must not block.
    pub async fn next_event_with<R>(
        &mut self,
        on_event: impl FnOnce(Event<'_>) -> R,
    ) -> Result<Option<R>, Error> {
        self.next_event_and_reply(|event, _| on_event(event)).await
    }

    /// [`WebSocketStream::next_event_and_reply`] on this half.
    pub async fn next_event_and_reply<R>(
        &mut self,
        on_event: impl FnOnce(Event<'_>, &mut Sender<'_>) -> R,
    ) -> Result<Option<R>, Error> {
        let mut on_event = Some(on_event);
        let shared = &self.shared;
        poll_fn(|cx| {
            shared.poll(&shared.waiting.reader, cx, |ws, cx| {
                ws.poll_event(cx, &mut on_event)
            })
        })
        .await
    }

    /// [`WebSocketStream::recv`] on this half.
    pub async fn recv(&mut self) -> Result<Option<OwnedEvent>, Error> {
        self.next_event_with(|event| OwnedEvent::from(event)).await
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> futures_core::Stream for ReadHalf<S> {
    type Item = Result<OwnedEvent, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let shared = &self.shared;
        shared.poll(&shared.waiting.reader, cx, |ws, cx| {
            Pin::new(ws).poll_next(cx)
        })
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> WriteHalf<S> {
    /// Queues a frame with `queue`, then writes everything queued.
    async fn send_with(
        &mut self,
        queue: impl FnOnce(&mut WebSocketStream<S>) -> Result<(), Error>,
    ) -> Result<(), Error> {
        queue(&mut lock(&self.shared.ws))?;
        self.flush().await
    }

    /// Sends a text message.
    pub async fn send_text(&mut self, text: &str) -> Result<(), Error> {
        self.send_with(|ws| Ok(ws.connection_mut().send_text(text)?))
            .await
    }

    /// Sends a binary message.
    pub async fn send_binary(&mut self, data: &[u8]) -> Result<(), Error> {
        self.send_with(|ws| Ok(ws.connection_mut().send_binary(data)?))
            .await
    }

    /// Sends a ping; its pong arrives on the read half.
    pub async fn ping(&mut self, payload: &[u8]) -> Result<(), Error> {
        self.send_with(|ws| Ok(ws.connection_mut().ping(payload)?))
            .await
    }

    /// Starts the close handshake; the read half sees the peer's answer.
    pub async fn close(&mut self, code: CloseCode, reason: &str) -> Result<(), Error> {
        self.send_with(|ws| Ok(ws.connection_mut().close(code, reason)?))
            .await
    }

    /// Writes everything queued and flushes the transport.
    pub async fn flush(&mut self) -> Result<(), Error> {
        let shared = &self.shared;
        poll_fn(|cx| shared.poll(&shared.waiting.writer, cx, |ws, cx| ws.poll_write_out(cx))).await
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> futures_sink::Sink<OwnedEvent> for WriteHalf<S> {
    type Error = Error;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        let shared = &self.shared;
        shared.poll(&shared.waiting.writer, cx, |ws, cx| ws.poll_room(cx))
    }

    fn start_send(self: Pin<&mut Self>, item: OwnedEvent) -> Result<(), Error> {
        lock(&self.shared.ws).queue(item)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        let shared = &self.shared;
        shared.poll(&shared.waiting.writer, cx, |ws, cx| ws.poll_write_out(cx))
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        let shared = &self.shared;
        shared.poll(&shared.waiting.writer, cx, |ws, cx| {
            Pin::new(ws).poll_close(cx)
        })
    }
}
