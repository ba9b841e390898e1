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

/// Calls with a deadline, presenting the admin APIs' bearer token when it has one
/// ([`crate::Ecosystem::client`] has the ecosystem's).
#[derive(Debug, Clone)]
pub struct Client {
    /// Sent as `Authorization: Bearer` (every admin path but `/health` wants it when the
    /// admin API listens off loopback, as in a container).
    token: Option<String>,
    /// How long one call may take, answer included.
    timeout: Duration,
}

impl Client {
    /// A client presenting `token` (if any), giving each call `timeout`.
    pub fn new(token: Option<&str>, timeout: Duration) -> Client {
        Client {
            token: token.map(str::to_owned),
            timeout,
        }
    }

    /// The same client with another deadline (a long poll wants a longer one).
    pub fn with_timeout(mut self, timeout: Duration) -> Client {
        self.timeout = timeout;
        self
    }

    /// `GET url` → (status, body).
    pub async fn get(&self, url: &str) -> Result<(u16, Value), HttpError> {
        self.call("GET", url, None).await
    }

    /// `POST url` with a JSON body → (status, body).
    pub async fn post(&self, url: &str, body: &Value) -> Result<(u16, Value), HttpError> {
        self.call("POST", url, Some(body)).await
    }

    /// Any method, with an optional JSON body → (status, body).
    pub async fn call(
        &self,
        method: &str,
        url: &str,
        body: Option<&Value>,
    ) -> Result<(u16, Value), HttpError> {
        let once = call_once(method, url, body, self.token.as_deref());
        match tokio::time::timeout(self.timeout, once).await {
            Ok(answer) => answer,
            Err(_) => Err(HttpError::Timeout {
                url: url.to_owned(),
                timeout: self.timeout,
            }),
        }
    }
}

async fn call_once(
    method: &str,
    url: &str,
    body: Option<&Value>,
    token: Option<&str>,
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
    if let Some(token) = token {
        request = request.header(hyper::header::AUTHORIZATION, format!("Bearer {token}"));
    }
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
