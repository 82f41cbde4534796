//! Sortable tables: the header of each column (its link, arrow and `aria-sort`), for the
//! server page's clients and a backup's folders.

/// A column's header in a table sorted by one of its columns.
pub struct Header {
    pub label: &'static str,
    /// The table sorted by this column: the other way round when it is the sorted one.
    pub href: String,
    pub arrow: &'static str,
    pub aria_sort: &'static str,
    /// Numbers (right-aligned).
    pub num: bool,
    /// Hidden on narrow screens.
    pub narrow: bool,
}

/// A column: its key in `?sort=`, label, whether it holds numbers, whether narrow screens
/// hide it.
pub type Column = (&'static str, &'static str, bool, bool);

/// The headers of `columns` in a table sorted by `sort` (descending when `desc`);
/// `link(key, dir)` is the table's first page sorted by `key` in `dir` (`asc` or `desc`).
pub fn headers(
    columns: &[Column],
    sort: &str,
    desc: bool,
    link: impl Fn(&str, &str) -> String,
) -> Vec<Header> {
    columns
        .iter()
        .map(|&(key, label, num, narrow)| {
            let (arrow, aria_sort, next) = match (key == sort, desc) {
                (true, false) => (" ▲", "ascending", "desc"),
                (true, true) => (" ▼", "descending", "asc"),
                (false, _) => ("", "", "asc"),
            };
            Header {
                label,
                href: link(key, next),
                arrow,
                aria_sort,
                num,
                narrow,
            }
        })
        .collect()
}
