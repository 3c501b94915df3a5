//! `etl transform`: SQL with side tables, relational ops, SQL semantics.

use crate::common::*;

#[test]
fn sql_with_a_side_table() {
    let dir = tempdir();
    let sales = csv_in(dir.path(), "sales.csv", "state,amount\nNY,10\nNY,5\nCA,7\n");
    let states = csv_in(
        dir.path(),
        "states.csv",
        "code,name\nNY,New York\nCA,California\n",
    );
    let r = ok(&[
        "transform", &sales, "--with", &format!("st={states}"), "--sql",
        "select st.name, sum(amount) as total from input join st on st.code = input.state group by st.name order by total desc",
        "--to", "csv",
    ]);
    assert_eq!(r.stdout, "name,total\nNew York,15\nCalifornia,7\n");
    let r = ok(&[
        "transform",
        &sales,
        "--as",
        "sales",
        "--sql",
        "select count(*) as n from sales",
        "--to",
        "csv",
    ]);
    assert_eq!(r.stdout, "n\n3\n");
}

#[test]
fn sql_errors_are_clear() {
    let people = fixture("formats/people.csv");
    let p = people.to_str().unwrap();
    let r = fails(
        &["transform", p, "--sql", "selec * from input", "--to", "csv"],
        2,
    );
    assert!(r.stderr.contains("SQL syntax error"), "{}", r.stderr);
    let r = fails(
        &[
            "transform",
            p,
            "--sql",
            "select levenshtein(name, 'x') from input",
            "--to",
            "csv",
        ],
        2,
    );
    assert!(
        r.stderr.contains("unsupported function 'levenshtein'"),
        "{}",
        r.stderr
    );
    let r = fails(
        &[
            "transform",
            p,
            "--sql",
            "select * from (select regexp_extract(name, 'a', 0) as x from input)",
            "--to",
            "csv",
        ],
        2,
    );
    assert!(
        r.stderr
            .contains("not supported yet: regexp_extract inside a subquery"),
        "{}",
        r.stderr
    );
    let r = fails(
        &[
            "transform",
            p,
            "--sql",
            "select nmae from input",
            "--to",
            "csv",
        ],
        2,
    );
    assert!(r.stderr.contains("nmae"), "{}", r.stderr);
}

#[test]
fn sql_answers_follow_standard_sql() {
    let dir = tempdir();
    let f = csv_in(
        dir.path(),
        "s.csv",
        "k,v,s\na,2.5,= 23.0\na,,x \u{663}\u{664} yrs 12\nb,-2.5,\nb,,\nc,,\n",
    );
    let r = ok(&[
        "transform",
        &f,
        "--sql",
        "select k, round(v) as r, round(v * 10, -1) as r10, regexp_extract(s, '\\d+', 0) as n, \
         regexp_replace(s, '[^0-9 ]', '') as digits, size(split(s, ' ')) as words, \
         dense_rank() over (partition by k order by v desc) as dr from input order by k, dr",
        "--to",
        "csv",
    ]);
    // Half away from zero; \\d is ASCII only; NULLs are ranked, last.
    assert_eq!(
        r.stdout,
        "k,r,r10,n,digits,words,dr\na,3.0,30.0,23, 230,2,1\na,,,12,   12,4,2\nb,-3.0,-30.0,,,,1\nb,,,,,,2\nc,,,,,,1\n"
    );
    let r = ok(&[
        "transform",
        &f,
        "--sql",
        "select k, sum(v) as total, count(distinct s) as n from input group by k order by k",
        "--to",
        "csv",
    ]);
    assert_eq!(
        r.stdout, "k,total,n\na,2.5,2\nb,-2.5,0\nc,,0\n",
        "the sum of no values is NULL, not 0"
    );
}

#[test]
fn group_by_follows_sql_null_rules() {
    let dir = tempdir();
    let f = csv_in(dir.path(), "g.csv", "k,v,w\na,1,x\na,,x\nb,,\nb,,y\n");
    let r = ok(&[
        "transform",
        &f,
        "--op",
        r#"group-by = { by = ["k"], aggs = { s = "sum(v)", n = "count(v)", d = "count_distinct(w)", rows = "count(*)" } }"#,
        "--to",
        "csv",
    ]);
    // b has no v values: its sum is null, not 0; count(distinct) skips nulls.
    assert_eq!(r.stdout, "k,d,n,rows,s\na,1,1,2,1\nb,1,0,2,\n");
}

#[test]
fn ranks_and_top_n_follow_sql_with_ties_and_nulls_last() {
    let dir = tempdir();
    let f = csv_in(dir.path(), "r.csv", "p,x\na,10\na,10\na,7\na,\nb,3\n");
    let r = ok(&[
        "transform",
        &f,
        "--op",
        r#"rank = { into = "dr", function = "dense-rank", partition-by = ["p"], order-by = ["x desc"] }"#,
        "--op",
        r#"rank = { into = "rk", function = "rank", partition-by = ["p"], order-by = ["x desc"] }"#,
        "--op",
        r#"rank = { into = "rn", function = "row-number", partition-by = ["p"], order-by = ["x desc"] }"#,
        "--to",
        "csv",
    ]);
    assert_eq!(
        r.stdout,
        "p,x,dr,rk,rn\na,10,1,1,1\na,10,1,1,2\na,7,2,3,3\na,,3,4,4\nb,3,1,1,1\n"
    );
    let r = ok(&[
        "transform",
        &f,
        "--op",
        r#"top-n = { n = 1, partition-by = ["p"], order-by = ["x desc"] }"#,
        "--to",
        "csv",
    ]);
    assert_eq!(
        r.stdout, "p,x\na,10\na,10\nb,3\n",
        "ties are kept under dense-rank"
    );
}

#[test]
fn join_kinds_sort_limit_union() {
    let dir = tempdir();
    let l = csv_in(dir.path(), "l.csv", "id,a\n1,x\n2,y\n3,z\n");
    let rr = csv_in(dir.path(), "r.csv", "id,b\n2,B\n3,C\n4,D\n");
    let join = |how: &str| {
        ok(&[
            "transform",
            &l,
            "--op",
            &format!(r#"join = {{ table = "{rr}", on = ["id"], how = "{how}" }}"#),
            "--sort",
            "id",
            "--to",
            "csv",
        ])
        .stdout
    };
    assert_eq!(join("inner"), "id,a,b\n2,y,B\n3,z,C\n");
    assert_eq!(join("left"), "id,a,b\n1,x,\n2,y,B\n3,z,C\n");
    assert_eq!(join("full"), "id,a,b\n1,x,\n2,y,B\n3,z,C\n4,,D\n");
    assert_eq!(join("anti"), "id,a\n1,x\n");
    assert_eq!(join("semi"), "id,a\n2,y\n3,z\n");
    let r = ok(&[
        "transform",
        &l,
        "--union",
        &rr,
        "--sort",
        "id desc",
        "--limit",
        "2",
        "--to",
        "csv",
    ]);
    assert_eq!(r.stdout, "id,a,b\n4,,D\n3,z,\n");
}

/// top-n sorts only the rows whose first ordering value can still make the
/// top N; `rank` then a filter sorts everything. Both must keep the same
/// rows in the same order, whatever the ties, nulls, partitions and
/// orderings.
#[test]
fn top_n_equals_rank_then_filter_on_awkward_data() {
    let dir = tempdir();
    let mut text = String::from("p,x,s,d,id\n");
    let mut seed = 7u64;
    let mut next = |m: u64| {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (seed >> 33) % m
    };
    for id in 0..600 {
        let p = ["a", "b", "", "é ü", "c"][next(5) as usize];
        let x = match next(9) {
            0 => String::new(),
            v => (v as i64 * 3 - 10).to_string(),
        };
        let s = ["", "Zed", "apple", "Apple", "zed", "ß"][next(6) as usize];
        let d = match next(7) {
            0 => String::new(),
            v => format!("2021-0{v}-1{}", next(3)),
        };
        text += &format!("{p},{x},{s},{d},{id}\n");
    }
    let f = csv_in(dir.path(), "t.csv", &text);
    let orderings: [&[&str]; 6] = [
        &["x desc"],
        &["x asc nulls first", "id"],
        &["x desc nulls first", "s"],
        &["s", "x desc"],
        &["d desc", "id desc"],
        &["id"],
    ];
    for function in ["dense-rank", "rank", "row-number"] {
        for order in orderings {
            for (n, partition) in [(3, r#"["p"]"#), (1, "[]"), (4, r#"["p", "s"]"#)] {
                let order = order
                    .iter()
                    .map(|o| format!("{o:?}"))
                    .collect::<Vec<_>>()
                    .join(", ");
                let top = ok(&[
                    "transform",
                    &f,
                    "--to",
                    "csv",
                    "--op",
                    &format!(
                        r#"top-n = {{ n = {n}, partition-by = {partition}, order-by = [{order}], function = "{function}", rank-column = "r" }}"#
                    ),
                ]);
                let ranked = ok(&[
                    "transform",
                    &f,
                    "--to",
                    "csv",
                    "--op",
                    &format!(
                        r#"rank = {{ into = "r", partition-by = {partition}, order-by = [{order}], function = "{function}" }}"#
                    ),
                    "--op",
                    &format!("filter = \"r <= {n}\""),
                ]);
                assert_eq!(
                    top.stdout, ranked.stdout,
                    "{function} n={n} partition-by={partition} order-by=[{order}]"
                );
                assert!(
                    top.stdout.lines().count() > n,
                    "{function} [{order}]: too few rows"
                );
            }
        }
    }
}
