//! Every error the console answers is its own page: axum's `Path`, `Query` and `Form`
//! wrapped so that their rejections become a [`PageError`] in the console's words (never the
//! framework's plain-text message), and one layer, [`error_pages`], that renders every error
//! answer (those of the handlers, and what the framework answers by itself: 405, 413...) as
//! the console's error page, with the navigation when the request carries a session.

use super::{cookie, render, theme_of, AppState, Layout, PageError, Session, SESSION_COOKIE};
use askama::Template;
use axum::extract::rejection::{FormRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;

/// What an error answer is about: set by [`PageError`] on its response, read by
/// [`error_pages`], which renders it.
#[derive(Debug, Clone)]
pub struct ErrorInfo {
    /// Its title.
    pub title: &'static str,
    /// What happened, in a sentence.
    pub message: String,
}

impl ErrorInfo {
    /// An error the framework answered by itself (no [`PageError`]), by its status.
    fn of_status(status: StatusCode) -> ErrorInfo {
        let (title, message) = match status {
            StatusCode::NOT_FOUND => ("Not found", "No such page."),
            StatusCode::METHOD_NOT_ALLOWED => (
                "Not allowed",
                "This address does not take that kind of request (a link to a form, or a form to a page).",
            ),
            StatusCode::PAYLOAD_TOO_LARGE => ("Too large", "The request is larger than the console takes (64 KiB)."),
            StatusCode::UNSUPPORTED_MEDIA_TYPE => (
                "Bad request",
                "The request was not sent as a web form.",
            ),
            s if s.is_server_error() => (
                "Console error",
                "The console failed to answer this request; its log says why.",
            ),
            _ => ("Bad request", "The console cannot read this request."),
        };
        ErrorInfo {
            title,
            message: message.into(),
        }
    }
}

/// `axum::extract::Path`, whose rejection is the console's 404 page: an address with a
/// segment that cannot be what it names (`/servers/hq/clients/abc`) names nothing.
pub struct Path<T>(pub T);

impl<T, S> FromRequestParts<S> for Path<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, PageError> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(v)) => Ok(Path(v)),
            Err(e) => Err(path_error(&e)),
        }
    }
}

fn path_error(e: &PathRejection) -> PageError {
    use axum::extract::path::ErrorKind;
    let what = |key: &str| match key {
        "id" => "client number",
        "server" => "server name",
        _ => "name",
    };
    match e {
        PathRejection::FailedToDeserializePathParams(d) => match d.kind() {
            ErrorKind::ParseErrorAtKey { key, value, .. } => {
                PageError::NotFound(format!("No such page: “{value}” is not a {}.", what(key)))
            }
            // The routes' segments in order: the server, then the client.
            ErrorKind::ParseErrorAtIndex { index, value, .. } => PageError::NotFound(format!(
                "No such page: “{value}” is not a {}.",
                what(if *index == 1 { "id" } else { "server" })
            )),
            ErrorKind::ParseError { value, .. } => {
                PageError::NotFound(format!("No such page: “{value}” names nothing here."))
            }
            ErrorKind::InvalidUtf8InPathParam { key } => PageError::NotFound(format!(
                "No such page: the {} in this address is not text.",
                what(key)
            )),
            _ => PageError::NotFound("No such page.".into()),
        },
        other => PageError::Internal(format!("path: {other}")),
    }
}

/// `axum::extract::Query`, whose rejection is the console's 400 page, saying which parameter
/// it could not read (a repeated one, or a value of the wrong kind).
pub struct Query<T>(pub T);

impl<T, S> FromRequestParts<S> for Query<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, PageError> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(v)) => Ok(Query(v)),
            Err(e) => Err(query_error(&e)),
        }
    }
}

/// The parameter a serde message is about (`duplicate field `sort``, `missing field `kind``,
/// `...: page: invalid digit`), and whether it is given twice.
fn field_of(text: &str) -> (Option<String>, bool) {
    let quoted = |marker: &str| {
        text.split(marker)
            .nth(1)
            .and_then(|r| r.split('`').next())
            .map(str::to_owned)
    };
    if let Some(k) = quoted("duplicate field `") {
        return (Some(k), true);
    }
    if let Some(k) = quoted("missing field `") {
        return (Some(k), false);
    }
    // `Failed to deserialize ...: KEY: reason`
    let parts: Vec<&str> = text.split(": ").collect();
    let key = (parts.len() >= 3)
        .then(|| parts[1])
        .filter(|k| !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'));
    (key.map(str::to_owned), false)
}

fn query_error(e: &QueryRejection) -> PageError {
    let (key, repeated) = field_of(&e.body_text());
    PageError::BadRequest(match (key, repeated) {
        (Some(k), true) => format!("The address gives the parameter “{k}” more than once."),
        (Some(k), false) => {
            format!("The address has a value for “{k}” that the console cannot read.")
        }
        (None, _) => "The address has a parameter that the console cannot read.".into(),
    })
}

/// `axum::Form`, whose rejection is the console's error page with the rejection's status
/// (415: not a web form, 422: a missing or bad field, 413: too large, 400).
pub struct Form<T>(pub T);

impl<T, S> FromRequest<S> for Form<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = PageError;

    async fn from_request(req: Request, state: &S) -> Result<Self, PageError> {
        match axum::Form::<T>::from_request(req, state).await {
            Ok(axum::Form(v)) => Ok(Form(v)),
            Err(e) => Err(form_error(&e)),
        }
    }
}

fn form_error(e: &FormRejection) -> PageError {
    let status = e.status();
    let message = match e {
        FormRejection::InvalidFormContentType(_) => {
            "The form was not sent as a web form (application/x-www-form-urlencoded).".to_string()
        }
        FormRejection::FailedToDeserializeForm(_)
        | FormRejection::FailedToDeserializeFormBody(_) => match field_of(&e.body_text()) {
            (Some(k), true) => format!("The form gives the field “{k}” more than once."),
            (Some(k), false) => {
                format!("The form's field “{k}” is missing or not what it should be.")
            }
            (None, _) => "The form has a field that the console cannot read.".into(),
        },
        _ if status == StatusCode::PAYLOAD_TOO_LARGE => {
            "The form is larger than the console takes (64 KiB).".into()
        }
        _ => "The console could not read the form.".into(),
    };
    PageError::Status {
        status,
        title: if status == StatusCode::PAYLOAD_TOO_LARGE {
            "Too large"
        } else {
            "Bad request"
        },
        message,
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    layout: Layout,
    title: &'a str,
    message: &'a str,
    status: u16,
}

#[derive(Template)]
#[template(path = "error_plain.html")]
struct PlainErrorPage<'a> {
    theme: &'static str,
    version: &'static str,
    title: &'a str,
    message: &'a str,
    status: u16,
    /// Where to go from here (not logged in: the login page).
    back_href: &'static str,
    back_label: &'static str,
}

/// Renders every error answer as the console's page: those a [`PageError`] made (it leaves
/// an [`ErrorInfo`]) and those the framework made by itself (any answer of 400 or more that
/// is not HTML). With the navigation when the request carries a live session; else with a
/// link to the login page.
pub async fn error_pages(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let token = cookie(&state, req.headers(), SESSION_COOKIE).map(str::to_owned);
    let theme = theme_of(&state, req.headers());
    let path = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "/".into());
    let head = req.method() == Method::HEAD;
    let res = next.run(req).await;
    let status = res.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return res;
    }
    let html = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    let info = match res.extensions().get::<ErrorInfo>() {
        Some(i) => i.clone(),
        // A page of the console's own (the login form again, with 401).
        None if html => return res,
        None => ErrorInfo::of_status(status),
    };
    let session = match token {
        Some(token) => {
            let now = urbackup_fleet::unix_now();
            match state.db(move |s| s.session(&token, now)).await {
                Ok(Some(info)) => Some(Session { info, path, theme }),
                _ => None,
            }
        }
        None => None,
    };
    let mut page = match session {
        Some(s) => render(&ErrorPage {
            layout: s.plain_layout(&state, info.title.to_owned()),
            title: info.title,
            message: &info.message,
            status: status.as_u16(),
        }),
        None => {
            let login = status == StatusCode::TOO_MANY_REQUESTS;
            render(&PlainErrorPage {
                theme,
                version: env!("CARGO_PKG_VERSION"),
                title: info.title,
                message: &info.message,
                status: status.as_u16(),
                back_href: "/login",
                back_label: if login {
                    "Back to the login page"
                } else {
                    "Log in"
                },
            })
        }
    };
    *page.status_mut() = status;
    // Keep what the answer says besides its body (`Allow` of a 405, `Retry-After`...).
    let (parts, _) = res.into_parts();
    for (name, value) in parts.headers.iter() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            page.headers_mut().append(name.clone(), value.clone());
        }
    }
    if head {
        let (mut parts, _) = page.into_parts();
        parts.headers.remove(header::CONTENT_LENGTH);
        return (parts, ()).into_response();
    }
    page.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    page
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_of_serde_messages() {
        assert_eq!(
            field_of("Failed to deserialize query string: duplicate field `sort`"),
            (Some("sort".into()), true)
        );
        assert_eq!(
            field_of("Failed to deserialize query string: page: invalid digit found in string"),
            (Some("page".into()), false)
        );
        assert_eq!(
            field_of("Failed to deserialize form body: missing field `kind`"),
            (Some("kind".into()), false)
        );
        assert_eq!(
            field_of("Failed to deserialize form body: action_id: invalid digit found in string"),
            (Some("action_id".into()), false)
        );
        assert_eq!(field_of("something else"), (None, false));
    }
}
