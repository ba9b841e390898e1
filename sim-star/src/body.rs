//! A response body that sends its pieces and then breaks the connection: how a fault cuts a
//! `GetIllnessUpdatedVersion6` answer after k of n events *for real*, so the platform's job
//! reads a truncated answer off the wire (SP-10's failure path), not a well-formed shorter
//! one.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Bytes;
use hyper::body::{Body, Frame};

/// How long the pieces are given to leave the server before the connection is broken: hyper
/// drops what is still buffered when a body fails, so the cut waits for the flush. Loopback
/// and LAN flush in far less; a longer wait only delays the break.
const FLUSH_GRACE: Duration = Duration::from_millis(200);

/// Sends `pieces` (chunked), waits [`FLUSH_GRACE`], then fails, which makes hyper close the
/// connection without the final chunk.
pub(crate) struct CutBody {
    pieces: VecDeque<Bytes>,
    grace: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl CutBody {
    pub(crate) fn new(pieces: Vec<String>) -> CutBody {
        CutBody {
            pieces: pieces.into_iter().map(Bytes::from).collect(),
            grace: None,
        }
    }
}

impl Body for CutBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        let this = self.get_mut();
        if let Some(piece) = this.pieces.pop_front() {
            return Poll::Ready(Some(Ok(Frame::data(piece))));
        }
        let grace = this
            .grace
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(FLUSH_GRACE)));
        match grace.as_mut().poll(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(()) => Poll::Ready(Some(Err(std::io::Error::new(
                std::io::ErrorKind::ConnectionAborted,
                "fault injection: the GetIllnessUpdatedVersion6 answer is cut",
            )))),
        }
    }
}
