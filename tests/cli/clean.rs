//! `etl clean`: cleaning ops as flags, in order; checks and rejects.

use crate::common::*;

#[test]
fn flags_apply_in_the_order_given() {
    let dir = tempdir();
    let f = csv_in(dir.path(), "a.csv", "a,b\n1,x\n2,y\n");
    // rename first, then select the new name: only works in this order.
    let r = ok(&[
        "clean", &f, "--rename", "b=c", "--select", "c,a", "--to", "csv",
    ]);
    assert_eq!(r.stdout, "c,a\nx,1\ny,2\n");
    let r = fails(
        &[
            "clean", &f, "--select", "c,a", "--rename", "b=c", "--to", "csv",
        ],
        2,
    );
    assert!(
        r.stderr
            .contains("op 1 (select): select: unknown column 'c'"),
        "{}",
        r.stderr
    );
}

#[test]
fn text_ops_trim_case_replace_extract_concat() {
    let dir = tempdir();
    let f = csv_in(
        dir.path(),
        "t.csv",
        "first,last,city,exp,phone\n ann ,smith,new york,= 23.0,(555) 123-4567\nbob,,SAN JOSE,٣٤ yrs 12,\n",
    );
    let r = ok(&[
        "clean",
        &f,
        "--trim",
        "first",
        "--title",
        "city",
        "--upper",
        "last",
        "--extract",
        "exp",
        r"\d+",
        "int",
        "--replace",
        "phone",
        "[^0-9]",
        "",
        "--concat",
        "full",
        " ",
        "first",
        "last",
        "--to",
        "ndjson",
    ]);
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(
        lines[0],
        r#"{"first":"ann","last":"SMITH","city":"New York","exp":23,"phone":"5551234567","full":"ann SMITH"}"#
    );
    // Arabic-Indic digits are not digits to SQL engines: the first ASCII run is taken.
    assert_eq!(
        lines[1],
        r#"{"first":"bob","last":null,"city":"San Jose","exp":12,"phone":null,"full":"bob"}"#
    );
}

#[test]
fn fill_nulls_by_partition_mean_rounds_half_away_from_zero() {
    let dir = tempdir();
    let f = csv_in(dir.path(), "f.csv", "id,n\n1,1\n1,2\n1,\n2,\n2,5\n3,\n");
    let r = ok(&[
        "clean",
        &f,
        "--op",
        r#"fill-null = { column = "n", with = "mean", by = ["id"], round = "half-away-from-zero", type = "int" }"#,
        "--to",
        "csv",
    ]);
    // mean(1,2) = 1.5 rounds to 2 (half-to-even would give 2 too: check 2.5 below); id 3 has no values: stays null.
    assert_eq!(r.stdout, "id,n\n1,1\n1,2\n1,2\n2,5\n2,5\n3,\n");
    let f = csv_in(dir.path(), "g.csv", "id,n\n1,2\n1,3\n1,\n");
    let r = ok(&[
        "clean",
        &f,
        "--op",
        r#"fill-null = { column = "n", with = "mean", round = "half-away-from-zero" }"#,
        "--to",
        "csv",
    ]);
    assert_eq!(
        r.stdout, "id,n\n1,2.0\n1,3.0\n1,3.0\n",
        "2.5 rounds away from zero"
    );
    let r = ok(&["clean", &f, "--fill-null", "n=0", "--to", "csv"]);
    assert_eq!(r.stdout, "id,n\n1,2\n1,3\n1,0\n");
}

/// Groups interleaved, a null key (a group of its own, as in SQL's
/// `PARTITION BY`), and every statistic: rows keep their order and only
/// nulls change.
#[test]
fn fill_nulls_by_group_keeps_row_order_and_null_keys_form_a_group() {
    let dir = tempdir();
    let f = csv_in(
        dir.path(),
        "f.csv",
        "k,n,t\nb,10,x\n,4,y\na,1,z\nb,,w\na,,v\n,,u\na,3,s\n,8,r\nb,12,q\nc,,p\n",
    );
    let fill = |with: &str| {
        ok(&[
            "clean",
            &f,
            "--to",
            "csv",
            "--op",
            &format!(r#"fill-null = {{ column = "n", with = "{with}", by = ["k"] }}"#),
        ])
        .stdout
    };
    assert_eq!(
        fill("mean"),
        "k,n,t\nb,10.0,x\n,4.0,y\na,1.0,z\nb,11.0,w\na,2.0,v\n,6.0,u\na,3.0,s\n,8.0,r\nb,12.0,q\nc,,p\n"
    );
    assert_eq!(
        fill("median"),
        "k,n,t\nb,10.0,x\n,4.0,y\na,1.0,z\nb,11.0,w\na,2.0,v\n,6.0,u\na,3.0,s\n,8.0,r\nb,12.0,q\nc,,p\n"
    );
    let f2 = csv_in(dir.path(), "m.csv", "k,n\nx,5\nx,5\nx,\ny,\ny,7\n,2\n,\n");
    let r = ok(&[
        "clean",
        &f2,
        "--to",
        "csv",
        "--op",
        r#"fill-null = { column = "n", with = "mode", by = ["k"] }"#,
    ]);
    assert_eq!(r.stdout, "k,n\nx,5\nx,5\nx,5\ny,7\ny,7\n,2\n,2\n");
}

#[test]
fn drop_nulls_dedup_filter_constant() {
    let dir = tempdir();
    let f = csv_in(dir.path(), "d.csv", "k,v\n1,a\n1,b\n,c\n2,d\n");
    let r = ok(&[
        "clean",
        &f,
        "--drop-nulls",
        "k",
        "--dedup",
        "k",
        "--constant",
        "country=USA",
        "--filter",
        "k < 2",
        "--to",
        "csv",
    ]);
    assert_eq!(r.stdout, "k,v,country\n1,a,USA\n");
}

#[test]
fn failing_checks_without_rejects_stop_with_examples() {
    let dir = tempdir();
    let f = csv_in(
        dir.path(),
        "c.csv",
        "npi,state\n1234567893,NY\n1234567890,NY\n1234567893,XX\n",
    );
    let out = dir.path().join("out.csv");
    let r = fails(
        &[
            "clean",
            &f,
            "--check-npi",
            "npi",
            "--check-state",
            "state",
            "-o",
            out.to_str().unwrap(),
        ],
        1,
    );
    assert!(
        r.stderr.contains("2 of 3 rows failed the checks"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr
            .contains("npi: 'npi' value '1234567890' is not a valid NPI"),
        "{}",
        r.stderr
    );
    assert!(!out.exists(), "no output after a failed check");
}

#[test]
fn rejects_are_written_with_rule_and_reason_and_thresholds_hold() {
    let dir = tempdir();
    let f = csv_in(
        dir.path(),
        "c.csv",
        "npi,qty\n1234567893,1\n1234567890,2\n1234567893,x\n,4\n",
    );
    let rejects = dir.path().join("rejects.csv");
    let out = dir.path().join("good.csv");
    let r = ok(&[
        "clean",
        &f,
        "--cast-or-reject",
        "qty:int",
        "--check-npi",
        "npi",
        "--not-null",
        "npi",
        "--rejects",
        rejects.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(
        r.stderr.contains("4 rows in, 1 out, 3 rejected"),
        "{}",
        r.stderr
    );
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        "npi,qty\n1234567893,1\n"
    );
    let rej = std::fs::read_to_string(&rejects).unwrap();
    assert!(rej.starts_with("npi,qty,_rule,_reason\n"), "{rej}");
    assert!(rej.contains("1234567890,2,npi,"), "{rej}");
    assert!(
        rej.contains(",cast,cast: 'qty' value 'x' is not a valid int"),
        "{rej}"
    );
    assert!(rej.contains(",4,not-null,not-null: 'npi' is null"), "{rej}");

    let out2 = dir.path().join("good2.csv");
    let r = fails(
        &[
            "clean",
            &f,
            "--check-npi",
            "npi",
            "--rejects",
            rejects.to_str().unwrap(),
            "--max-rejects",
            "0",
            "-o",
            out2.to_str().unwrap(),
        ],
        1,
    );
    assert!(
        r.stderr
            .contains("1 rows rejected, more than --max-rejects 0"),
        "{}",
        r.stderr
    );
    assert!(!out2.exists());
    let r = fails(
        &[
            "clean",
            &f,
            "--not-null",
            "npi",
            "--rejects",
            rejects.to_str().unwrap(),
            "--max-reject-pct",
            "10",
            "-o",
            out2.to_str().unwrap(),
        ],
        1,
    );
    assert!(r.stderr.contains("25.00% of rows rejected"), "{}", r.stderr);
}

#[test]
fn strict_cast_names_the_bad_value() {
    let dir = tempdir();
    let f = csv_in(dir.path(), "s.csv", "id,qty\n1,5\n2,x\n");
    let r = fails(&["clean", &f, "--cast", "qty:int", "--to", "csv"], 1);
    assert!(
        r.stderr
            .contains("cast: row 2, column 'qty': 'x' is not a valid int"),
        "{}",
        r.stderr
    );
}

#[test]
fn bad_regex_unknown_column_and_bad_toml_are_usage_errors() {
    let people = fixture("formats/people.csv");
    let p = people.to_str().unwrap();
    let r = fails(
        &["clean", p, "--extract", "name", "([a-z", "--to", "csv"],
        2,
    );
    assert!(r.stderr.contains("bad regex '([a-z'"), "{}", r.stderr);
    let r = fails(&["clean", p, "--upper", "nmae", "--to", "csv"], 2);
    assert!(
        r.stderr.contains("'nmae' (did you mean 'name'?)"),
        "{}",
        r.stderr
    );
    let r = fails(
        &[
            "clean",
            p,
            "--op",
            "fill-nul = { column = \"x\" }",
            "--to",
            "csv",
        ],
        2,
    );
    assert!(r.stderr.contains("--op 'fill-nul"), "{}", r.stderr);
    let r = fails(&["clean", p, "--upper", "id", "--to", "csv"], 2);
    assert!(
        r.stderr.contains("column 'id' is i64, not text"),
        "{}",
        r.stderr
    );
}

#[test]
fn clean_streams_from_a_pipe() {
    use std::process::Stdio;
    let mut a = etl()
        .args(["ingest", fixture("formats/people.csv").to_str().unwrap()])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let b = etl()
        .args([
            "clean",
            "--select",
            "id,name",
            "--drop-nulls",
            "name",
            "--upper",
            "name",
            "--to",
            "csv",
        ])
        .stdin(a.stdout.take().unwrap())
        .output()
        .unwrap();
    assert!(a.wait().unwrap().success());
    assert_eq!(
        String::from_utf8_lossy(&b.stdout),
        "id,name\n1,PLAIN\n2,\"SMITH, JOHN\"\n3,\"O\"\"BRIEN\"\n4,\"LINE1\nLINE2\"\n5,ZOË ÅNGSTRÖM\n"
    );
}

#[test]
fn lookup_parse_date_and_dedup_keep_last() {
    let dir = tempdir();
    let states = csv_in(
        dir.path(),
        "states.csv",
        "name,code\nNew York,NY\nTexas,TX\n",
    );
    let f = csv_in(
        dir.path(),
        "p.csv",
        "id,state,day\n1,New York,03/31/2024\n1,Texas,04/01/2024\n2,Atlantis,12/25/2023\n",
    );
    let r = ok(&[
        "clean",
        &f,
        "--lookup",
        "state",
        &states,
        "name",
        "code",
        "--parse-date",
        "day",
        "%m/%d/%Y",
        "--op",
        r#"dedup = { key = ["id"], keep = "last" }"#,
        "--to",
        "ndjson",
    ]);
    assert_eq!(r.stdout, "{\"id\":1,\"state\":\"TX\",\"day\":\"2024-04-01\"}\n{\"id\":2,\"state\":null,\"day\":\"2023-12-25\"}\n");
    let r = fails(
        &[
            "clean",
            &f,
            "--parse-date",
            "day",
            "%Y-%m-%d",
            "--to",
            "csv",
        ],
        1,
    );
    assert!(
        r.stderr.contains("day"),
        "a date that does not match the format is an error: {}",
        r.stderr
    );
}

#[test]
fn range_regex_in_set_and_unique_checks() {
    let dir = tempdir();
    let f = csv_in(
        dir.path(),
        "c.csv",
        "id,age,zip,kind\n1,34,10001,a\n2,-1,1000,a\n2,200,ABCDE,z\n",
    );
    let rejects = dir.path().join("rej.ndjson");
    let r = ok(&[
        "clean",
        &f,
        "--op",
        r#"check = { rule = "range", column = "age", min = 0, max = 120 }"#,
        "--op",
        r#"check = { rule = "regex", column = "zip", pattern = '\d{5}' }"#,
        "--op",
        r#"check = { rule = "in-set", column = "kind", values = ["a", "b"] }"#,
        "--unique",
        "id",
        "--rejects",
        rejects.to_str().unwrap(),
        "--to",
        "csv",
    ]);
    assert_eq!(r.stdout, "id,age,zip,kind\n1,34,10001,a\n");
    let rej = std::fs::read_to_string(&rejects).unwrap();
    let rules: Vec<&str> = rej
        .lines()
        .map(|l| {
            l.split("\"_rule\":\"")
                .nth(1)
                .unwrap()
                .split('"')
                .next()
                .unwrap()
        })
        .collect();
    assert_eq!(
        rules,
        ["range", "range"],
        "the first failing rule of each row: {rej}"
    );
    assert!(
        rej.contains("range: 'age' value '-1' is outside [0, 120]"),
        "{rej}"
    );
}
