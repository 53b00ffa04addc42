//! The one writer of BENCHMARKS.md: each benchmark owns the section between
//! `<!-- NAME:begin -->` and `<!-- NAME:end -->`, and replaces it whole.

use std::path::Path;

/// Replaces the section `name` of `file` with `text`; an error names the
/// markers when the file has none.
pub fn write_section(file: &Path, name: &str, text: &str) -> Result<(), String> {
    let (begin, end) = (format!("<!-- {name}:begin -->"), format!("<!-- {name}:end -->"));
    let document = std::fs::read_to_string(file).map_err(|error| format!("cannot read {}: {error}", file.display()))?;
    let (Some(start), Some(stop)) = (document.find(&begin), document.find(&end)) else {
        return Err(format!("{} has no {begin} ... {end} markers: the section was not written", file.display()));
    };
    if stop < start {
        return Err(format!("{}: {end} comes before {begin}", file.display()));
    }
    let updated = format!("{}{begin}\n{}\n{}", &document[..start], text.trim_end(), &document[stop..]);
    std::fs::write(file, updated).map_err(|error| format!("cannot write {}: {error}", file.display()))
}
