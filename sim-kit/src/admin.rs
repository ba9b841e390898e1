//! What every program's admin API (plain HTTP, JSON, on its own port) answers the same way:
//! errors as `{"error": text}` with their status, and the journal query.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use sim_store::{Journal, JournalFilter};

/// `{"error": text}` with `status`.
pub fn error(status: StatusCode, text: impl std::fmt::Display) -> Response {
    let body = serde_json::json!({ "error": text.to_string() });
    (status, Json(body)).into_response()
}

/// 400: the caller's request is wrong.
pub fn bad_request(text: impl std::fmt::Display) -> Response {
    error(StatusCode::BAD_REQUEST, text)
}

/// 404: no such thing.
pub fn not_found(text: impl std::fmt::Display) -> Response {
    error(StatusCode::NOT_FOUND, text)
}

/// 500: the program failed (its store, usually).
pub fn internal(e: impl std::fmt::Display) -> Response {
    error(StatusCode::INTERNAL_SERVER_ERROR, e)
}

/// `GET /journal?...`: the rows of `journal` that match the query string's filter.
pub async fn journal(journal: &Journal, filter: JournalFilter) -> Response {
    match journal.query(filter).await {
        Ok(rows) => Json(rows).into_response(),
        Err(e) => internal(e),
    }
}
