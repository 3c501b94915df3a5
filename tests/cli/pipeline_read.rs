//! A pipeline's `read = { … }` takes every input option `etl ingest` has,
//! under the same names, and reads exactly as the flags do.

use std::path::Path;

use crate::common::*;

/// Runs a one-stage pipeline that ingests `input` with `read` (a TOML
/// inline table) and returns the bronze dataset as CSV.
fn pipeline_read(dir: &Path, input: &Path, read: &str) -> Run {
    let file = dir.join("p.toml");
    std::fs::write(
        &file,
        format!(
            "[pipeline]\nname = \"read\"\nroot = '{}'\n\n[[stage]]\nname = \"in\"\ningest = '{}'\nread = {read}\noutput = \"bronze.t\"\n",
            dir.join("root").display(),
            input.display()
        ),
    )
    .unwrap();
    let r = run(&["run-pipeline", file.to_str().unwrap()]);
    if r.code != 0 {
        return r;
    }
    let out = dir.join("root/bronze/t.parquet");
    ok(&["ingest", out.to_str().unwrap(), "--to", "csv"])
}

#[test]
fn every_read_flag_has_its_pipeline_key() {
    let dir = tempdir();
    // latin-1, `;` delimiter, `'` quotes with `\` escapes, `#` comments,
    // NA for null, no header row, an ISO date that must stay text, and an
    // id that inference on the first row would call an integer.
    let text = b"# exported 2024\n1;'Ren\xe9e \\'R\\'';NA;2024-01-02\n2;'Zo\xeb;x';3.5;2024-02-03\nx7;'Al';4;2024-03-04\n";
    let input = dir.path().join("odd.txt");
    std::fs::write(&input, text).unwrap();
    let flags = [
        "--from",
        "csv",
        "--no-header",
        "--delimiter",
        ";",
        "--quote",
        "'",
        "--escape",
        "\\",
        "--comment",
        "#",
        "--null",
        "NA",
        "--encoding",
        "latin1",
        "--schema",
        "column_1:str,column_2:str,column_3:float64,column_4:str",
        "--infer-rows",
        "0",
        "--no-parse-dates",
    ];
    let read = r##"{ from = "csv", header = false, delimiter = ";", quote = "'", escape = '\', comment = "#", null = ["NA"], encoding = "latin1", schema = "column_1:str,column_2:str,column_3:float64,column_4:str", infer-rows = 0, parse-dates = false }"##;
    let mut args = vec!["ingest", input.to_str().unwrap()];
    args.extend(flags);
    args.extend(["--to", "csv"]);
    let by_flags = ok(&args).stdout;
    let by_pipeline = pipeline_read(dir.path(), &input, read);
    assert_eq!(by_pipeline.code, 0, "{}", by_pipeline.stderr);
    assert_eq!(by_pipeline.stdout, by_flags);
    // And it is the right table, not just the same one.
    assert_eq!(
        by_flags,
        "column_1,column_2,column_3,column_4\n1,Renée 'R',,2024-01-02\n2,Zoë;x,3.5,2024-02-03\nx7,Al,4.0,2024-03-04\n"
    );
}

#[test]
fn the_rest_of_the_read_keys_and_their_errors() {
    let dir = tempdir();
    // no-quote: quote characters are plain text.
    let input = dir.path().join("q.csv");
    std::fs::write(&input, "a,b\n\"x,y\n").unwrap();
    let r = pipeline_read(dir.path(), &input, "{ no-quote = true }");
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stdout, "a,b\n\"\"\"x\",y\n");
    // sheet: by name, in a workbook whose first sheet is another one.
    let book = fixture("formats/people.xlsx");
    let by_flags = ok(&[
        "ingest",
        book.to_str().unwrap(),
        "--sheet",
        "other",
        "--to",
        "csv",
    ])
    .stdout;
    assert_eq!(by_flags, "a,b\n1,x\n2,y\n");
    let r = pipeline_read(dir.path(), &book, r#"{ sheet = "other" }"#);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stdout, by_flags);
    // Mistakes are named with the key, before anything runs.
    let r = pipeline_read(dir.path(), &input, r#"{ delimiter = ";;" }"#);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr
            .contains("read.delimiter takes one ASCII character"),
        "{}",
        r.stderr
    );
    let r = pipeline_read(dir.path(), &input, r#"{ delimeter = ";" }"#);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("unknown field `delimeter`"),
        "{}",
        r.stderr
    );
    let r = pipeline_read(dir.path(), &input, r#"{ from = "xml" }"#);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("unknown variant `xml`"), "{}", r.stderr);
}
