//! The question asked before an action that cannot be undone (stopping a backup, removing a
//! user). It works without JavaScript: the action's form posts without `confirm`, the
//! console answers this page, whose form posts the same fields again with `confirm=yes`.

use super::{render, AppState, Layout, PageError, Session};
use askama::Template;
use axum::response::Response;

#[derive(Template)]
#[template(path = "confirm.html")]
struct ConfirmPage {
    layout: Layout,
    title: String,
    question: String,
    note: String,
    action: String,
    fields: Vec<(&'static str, String)>,
    yes: &'static str,
    no: &'static str,
    cancel_href: String,
}

/// What to ask.
pub struct Question {
    /// The page's title.
    pub title: String,
    /// The question.
    pub question: String,
    /// What else to know (`""`: nothing).
    pub note: String,
    /// Where the form posts.
    pub action: String,
    /// The action's fields (the CSRF token and `confirm` are added).
    pub fields: Vec<(&'static str, String)>,
    /// The button that goes ahead.
    pub yes: &'static str,
    /// The link that does not.
    pub no: &'static str,
    /// Where that link goes.
    pub cancel_href: String,
}

/// The form said yes.
pub fn confirmed(confirm: Option<&str>) -> bool {
    confirm == Some("yes")
}

/// The page that asks `q`.
pub async fn ask(state: &AppState, session: &Session, q: Question) -> Result<Response, PageError> {
    let page = ConfirmPage {
        layout: session.layout(state, q.title.clone(), "", false).await?,
        title: q.title,
        question: q.question,
        note: q.note,
        action: q.action,
        fields: q.fields,
        yes: q.yes,
        no: q.no,
        cancel_href: q.cancel_href,
    };
    Ok(render(&page))
}
