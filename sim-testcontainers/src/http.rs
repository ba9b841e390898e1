//! A minimal JSON client over plain HTTP/1.1, for the programs' admin and control APIs: one
//! connection per call, one deadline per call, the answer's status and body (JSON when it is
//! JSON, else its text as a JSON string, `null` when empty).

use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::{Method, Request, Uri};
use hyper_util::rt::TokioIo;
use serde_json::Value;

/// Why a call got no answer.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// The URL is not `http://host:port/…`.
    #[error("{0}: not an http:// URL with a host")]
    BadUrl(String),
    /// The method is no HTTP method.
    #[error("{0}: not an HTTP method")]
    BadMethod(String),
    /// Connecting, sending or reading failed.
    #[error("{url}: {message}")]
    Failed {
        /// The URL called.
        url: String,
        /// What failed.
        message: String,
    },
    /// No whole answer within the deadline.
    #[error("{url}: no answer within {timeout:?}")]
    Timeout {
        /// The URL called.
        url: String,
        /// The deadline.
        timeout: Duration,
    },
}

/// `GET url` → (status, body).
pub async fn get(url: &str, timeout: Duration) -> Result<(u16, Value), HttpError> {
    call("GET", url, None, timeout).await
}

/// `POST url` with a JSON body → (status, body).
pub async fn post(url: &str, body: &Value, timeout: Duration) -> Result<(u16, Value), HttpError> {
    call("POST", url, Some(body), timeout).await
}

/// Any method, with an optional JSON body → (status, body).
pub async fn call(
    method: &str,
    url: &str,
    body: Option<&Value>,
    timeout: Duration,
) -> Result<(u16, Value), HttpError> {
    match tokio::time::timeout(timeout, call_once(method, url, body)).await {
        Ok(answer) => answer,
        Err(_) => Err(HttpError::Timeout {
            url: url.to_owned(),
            timeout,
        }),
    }
}

async fn call_once(
    method: &str,
    url: &str,
    body: Option<&Value>,
) -> Result<(u16, Value), HttpError> {
    let failed = |message: String| HttpError::Failed {
        url: url.to_owned(),
        message,
    };
    let uri: Uri = url.parse().map_err(|_| HttpError::BadUrl(url.to_owned()))?;
    let (Some("http"), Some(host)) = (uri.scheme_str(), uri.host()) else {
        return Err(HttpError::BadUrl(url.to_owned()));
    };
    let port = uri.port_u16().unwrap_or(80);
    let method =
        Method::from_bytes(method.as_bytes()).map_err(|_| HttpError::BadMethod(method.into()))?;
    let path = uri.path_and_query().map_or("/", |p| p.as_str());

    let stream = tokio::net::TcpStream::connect((host, port))
        .await
        .map_err(|e| failed(format!("connecting: {e}")))?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| failed(format!("handshake: {e}")))?;
    tokio::spawn(connection);

    let mut request = Request::builder()
        .method(method)
        .uri(path)
        .header(hyper::header::HOST, format!("{host}:{port}"));
    let bytes = match body {
        Some(json) => {
            request = request.header(hyper::header::CONTENT_TYPE, "application/json");
            Bytes::from(json.to_string())
        }
        None => Bytes::new(),
    };
    let request = request
        .body(Full::new(bytes))
        .map_err(|e| failed(format!("request: {e}")))?;
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| failed(format!("sending: {e}")))?;
    let status = response.status().as_u16();
    let bytes = response
        .into_body()
        .collect()
        .await
        .map_err(|e| failed(format!("reading the answer: {e}")))?
        .to_bytes();
    let value = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
    };
    Ok((status, value))
}
