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

/// `?offset=&limit=` of every list an admin API serves: a page of at most
/// [`sim_store::MAX_QUERY_LIMIT`] rows, so no query can make a program build an answer of
/// unbounded size. A larger `limit` is read as the ceiling (the answer says nothing is lost:
/// page on with `offset`).
#[derive(Debug, Clone, Copy, Default, serde::Deserialize)]
#[serde(default)]
pub struct Page {
    /// Skip this many rows first.
    pub offset: Option<u64>,
    /// At most this many rows (default [`sim_store::DEFAULT_QUERY_LIMIT`]).
    pub limit: Option<u32>,
}

impl Page {
    /// The rows to skip.
    pub fn offset(&self) -> u64 {
        self.offset.unwrap_or(0)
    }

    /// The page size: the asked one within `1..=MAX_QUERY_LIMIT`.
    pub fn limit(&self) -> u32 {
        self.limit
            .unwrap_or(sim_store::DEFAULT_QUERY_LIMIT)
            .clamp(1, sim_store::MAX_QUERY_LIMIT)
    }

    /// This page of an in-memory list.
    pub fn of<T: Clone>(&self, all: &[T]) -> Vec<T> {
        let start = usize::try_from(self.offset())
            .unwrap_or(usize::MAX)
            .min(all.len());
        let end = start.saturating_add(self.limit() as usize).min(all.len());
        all[start..end].to_vec()
    }
}

/// The admin API's optional bearer token (`--admin-token`, config `admin_token`): when set,
/// every request but `GET /health` must carry `Authorization: Bearer <token>`, else 401 with
/// `WWW-Authenticate: Bearer`. `/health` stays open so orchestrators can probe it.
pub fn protect(router: axum::Router, token: Option<String>) -> axum::Router {
    let Some(token) = token else { return router };
    let expected: std::sync::Arc<str> = format!("Bearer {token}").into();
    router.layer(axum::middleware::from_fn(
        move |req: axum::extract::Request, next: axum::middleware::Next| {
            let expected = expected.clone();
            async move {
                let open = req.uri().path() == "/health";
                let given = req
                    .headers()
                    .get(axum::http::header::AUTHORIZATION)
                    .map(|v| v.as_bytes());
                if open || given.is_some_and(|g| constant_time_eq(g, expected.as_bytes())) {
                    return next.run(req).await;
                }
                let mut r = error(
                    StatusCode::UNAUTHORIZED,
                    "this admin API needs Authorization: Bearer <the token it was started with>",
                );
                r.headers_mut().insert(
                    axum::http::header::WWW_AUTHENTICATE,
                    axum::http::HeaderValue::from_static("Bearer"),
                );
                r
            }
        },
    ))
}

/// Equal bytes, compared in time that depends only on the lengths (a token is not guessed
/// byte by byte from response times).
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Whether an admin API may listen on `addr` with `token`: on a loopback address a token is
/// optional (only this host reaches it); anywhere else it is required, because the admin API
/// reroutes traffic and reads every journal.
pub fn exposure_allowed(addr: std::net::SocketAddr, token: Option<&str>) -> Result<(), String> {
    match token {
        Some("") => Err("the admin token is empty".into()),
        // What an HTTP header can carry unchanged: a token with spaces at its ends or
        // control characters could never be presented, and would lock everyone out.
        Some(t) if !t.bytes().all(|b| b.is_ascii_graphic()) => Err(
            "the admin token may hold only visible ASCII characters (no spaces)".into(),
        ),
        Some(_) => Ok(()),
        None if addr.ip().is_loopback() => Ok(()),
        None => Err(format!(
            "the admin API would listen on {addr}, which is not a loopback address, without a token: give --admin-token (or admin_token in the config)"
        )),
    }
}

/// A JSON object body, read into `T`: axum's `Json` with two differences that matter to a
/// control plane — serde would also read a struct from a JSON array (`[null, null]`), which
/// is refused here, and every refusal is `{"error": ..}` JSON with axum's status (400, 415,
/// 422), like the rest of the API.
#[derive(Debug)]
pub struct JsonObject<T>(pub T);

/// A JSON array of objects, each read into `T` (see [`JsonObject`]).
#[derive(Debug)]
pub struct JsonList<T>(pub Vec<T>);

async fn json_value<S: Send + Sync>(
    req: axum::extract::Request,
    state: &S,
) -> Result<serde_json::Value, Response> {
    use axum::extract::FromRequest;
    match Json::<serde_json::Value>::from_request(req, state).await {
        Ok(Json(v)) => Ok(v),
        Err(rejection) => Err(error(rejection.status(), rejection.body_text())),
    }
}

/// `v` read into `T` if it is an object; why not otherwise (answered with 422).
fn read_object<T: serde::de::DeserializeOwned>(
    v: serde_json::Value,
    what: &str,
) -> Result<T, String> {
    if !v.is_object() {
        return Err(format!("{what} must be a JSON object"));
    }
    serde_json::from_value(v).map_err(|e| format!("{what}: {e}"))
}

impl<S, T> axum::extract::FromRequest<S> for JsonObject<T>
where
    S: Send + Sync,
    T: serde::de::DeserializeOwned,
{
    type Rejection = Response;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, Response> {
        let v = json_value(req, state).await?;
        read_object(v, "the body")
            .map(JsonObject)
            .map_err(|e| error(StatusCode::UNPROCESSABLE_ENTITY, e))
    }
}

impl<S, T> axum::extract::FromRequest<S> for JsonList<T>
where
    S: Send + Sync,
    T: serde::de::DeserializeOwned,
{
    type Rejection = Response;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, Response> {
        let serde_json::Value::Array(items) = json_value(req, state).await? else {
            return Err(error(
                StatusCode::UNPROCESSABLE_ENTITY,
                "the body must be a JSON array",
            ));
        };
        items
            .into_iter()
            .enumerate()
            .map(|(i, v)| read_object(v, &format!("item {i}")))
            .collect::<Result<Vec<T>, String>>()
            .map(JsonList)
            .map_err(|e| error(StatusCode::UNPROCESSABLE_ENTITY, e))
    }
}

#[cfg(test)]
mod tests {
    use super::{exposure_allowed, Page};

    #[test]
    fn a_token_is_required_off_loopback_only() {
        assert!(exposure_allowed("127.0.0.1:1".parse().unwrap(), None).is_ok());
        assert!(exposure_allowed("[::1]:1".parse().unwrap(), None).is_ok());
        assert!(exposure_allowed("0.0.0.0:1".parse().unwrap(), None).is_err());
        assert!(exposure_allowed("0.0.0.0:1".parse().unwrap(), Some("t")).is_ok());
        assert!(exposure_allowed("127.0.0.1:1".parse().unwrap(), Some("")).is_err());
        assert!(exposure_allowed("127.0.0.1:1".parse().unwrap(), Some(" t ")).is_err());
    }

    #[test]
    fn a_page_is_bounded_and_never_out_of_range() {
        let all: Vec<u32> = (0..25).collect();
        let p = Page {
            offset: Some(20),
            limit: Some(10),
        };
        assert_eq!(p.of(&all), vec![20, 21, 22, 23, 24]);
        let far = Page {
            offset: Some(u64::MAX),
            limit: Some(u32::MAX),
        };
        assert!(far.of(&all).is_empty());
        assert_eq!(far.limit(), sim_store::MAX_QUERY_LIMIT);
        assert_eq!(
            Page {
                offset: None,
                limit: Some(0)
            }
            .limit(),
            1
        );
    }
}
