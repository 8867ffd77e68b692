//! Issue 19: facts that cannot be are refused, through the CLI and through
//! `import` alike, with the field, the value and the rule, and nothing is
//! written; `db check` lists rows written before a rule existed.

use crate::support::{Register, USCC};

const TODAY: &str = "2026-06-01";

/// The seed (京B2-20221234, 地网, B24, 2022-03-01 to 2027-02-28) and a 全网
/// licence without B24.
fn register() -> Register {
    let r = Register::new();
    r.seed();
    r.ok(&[
        "licence",
        "add",
        "--number",
        "B2-20231111",
        "--holder",
        USCC,
        "--items",
        "B25",
        "--issued",
        "2023-05-01",
    ]);
    r
}

#[test]
fn issue_19_each_impossible_fact_is_refused_through_the_cli_and_nothing_is_written() {
    let r = register();
    let before = r.dump();
    let licence_add = |number: &'static str, issued: &'static str| {
        vec![
            "--today", TODAY, "licence", "add", "--number", number, "--holder", USCC, "--items",
            "B24", "--issued", issued,
        ]
    };
    let with = |mut args: Vec<&'static str>, more: &[&'static str]| {
        args.extend_from_slice(more);
        args
    };
    let change_record = |on: &'static str| {
        vec![
            "--today",
            TODAY,
            "change",
            "record",
            "京B2-20221234",
            "--kind",
            "name",
            "--on",
            on,
        ]
    };
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec![
                "--today",
                TODAY,
                "number",
                "add",
                "95888",
                "--licence",
                "京B2-20221234",
                "--allocated",
                "2026-01-05",
            ],
            "licwatch: number 95888: is a nationwide number, and licence 京B2-20221234 is a 地网 licence of 北京市: 95 and 1010 numbers are held only under a 全网 licence, a 地网 licence holds 96 numbers of its own province (rule: 全网 numbers under a 全网 licence)",
        ),
        (
            vec![
                "--today",
                TODAY,
                "number",
                "add",
                "10105555",
                "--licence",
                "京B2-20221234",
                "--allocated",
                "2026-01-05",
            ],
            "licwatch: number 10105555: is a nationwide number, and licence 京B2-20221234 is a 地网 licence of 北京市: 95 and 1010 numbers are held only under a 全网 licence, a 地网 licence holds 96 numbers of its own province (rule: 全网 numbers under a 全网 licence)",
        ),
        (
            vec![
                "--today",
                TODAY,
                "number",
                "add",
                "95888",
                "--licence",
                "B2-20231111",
                "--allocated",
                "2026-01-05",
            ],
            "licwatch: number 95888: licence B2-20231111 carries B25, not B24 国内呼叫中心业务 (rule: numbers are allocated only under a licence that carries B24)",
        ),
        (
            with(
                licence_add("沪B2-20231234", "2023-05-01"),
                &["--authority", "工业和信息化部"],
            ),
            "licwatch: --authority 工业和信息化部: is not who issues licence 沪B2-20231234: a 地网（上海市） licence is issued by 上海市通信管理局 (rule: the authority follows the scope; leave it out and licwatch fills it in)",
        ),
        (
            licence_add("沪B2-20241234", "2023-12-31"),
            "licwatch: --issued 2023-12-31: is before 2024, the year of first issue in licence number 沪B2-20241234 (rule: the number's first four digits are the year it was first issued)",
        ),
        (
            with(
                licence_add("沪B2-20231234", "2023-05-01"),
                &["--expires", "2028-05-02"],
            ),
            "licwatch: --expires 2028-05-02: more than five years after 2023-05-01: a licence is valid five years, to 2028-05-01 at the latest (rule: 有效期五年; is it a typo?)",
        ),
        (
            licence_add("沪B2-20261234", "2026-06-02"),
            "licwatch: --issued 2026-06-02: is after today (2026-06-01) (rule: the register records what has happened, on the day it did)",
        ),
        (
            vec![
                "--today",
                TODAY,
                "number",
                "add",
                "962222",
                "--licence",
                "京B2-20221234",
                "--allocated",
                "2026-06-02",
            ],
            "licwatch: --allocated 2026-06-02: is after today (2026-06-01) (rule: the register records what has happened, on the day it did)",
        ),
        (
            change_record("2026-06-02"),
            "licwatch: --on 2026-06-02: is after today (2026-06-01) (rule: the register records what has happened, on the day it did)",
        ),
        (
            change_record("2022-02-28"),
            "licwatch: --on 2022-02-28: is before licence 京B2-20221234 was issued (2022-03-01) (rule: a change is filed against a licence that exists; check the date, or the licence's --issued)",
        ),
        (
            vec![
                "--today",
                "2027-03-05",
                "renewal",
                "submit",
                "京B2-20221234",
                "--on",
                "2027-03-01",
            ],
            "licwatch: --on 2027-03-01: is after licence 京B2-20221234 expired (2027-02-28): an expired licence can no longer be renewed (延续). Stop the business and record it with: licwatch licence end 京B2-20221234 --on DATE --reason 到期未延续; to carry on, apply for a new licence and add it",
        ),
    ];
    for (args, expected) in &cases {
        assert_eq!(&r.fails(args), expected, "{args:?}");
    }
    assert_eq!(r.dump(), before);
}

#[test]
fn issue_19_a_late_renewal_is_accepted_and_said_to_be_late() {
    let r = register();
    // The deadline is expiry − 90 days: 2026-11-30.
    let on_time = r.ok(&[
        "--today",
        "2026-11-30",
        "renewal",
        "submit",
        "京B2-20221234",
        "--on",
        "2026-11-30",
    ]);
    assert!(!on_time.contains("late"), "{on_time}");
    let r = register();
    let late = r.ok(&[
        "--today",
        "2026-12-15",
        "renewal",
        "submit",
        "京B2-20221234",
        "--on",
        "2026-12-10",
    ]);
    assert_eq!(
        late.trim_end(),
        "京B2-20221234: renewal applied for on 2026-12-10 (licence expiring 2027-02-28); late: the deadline was 2026-11-30, 10 day(s) earlier (recorded as late); when the new licence arrives: licwatch licence update 京B2-20221234 --expires DATE"
    );
    // The last day of validity is still in time to apply, late.
    let r = register();
    r.ok(&[
        "--today",
        "2027-02-28",
        "renewal",
        "submit",
        "京B2-20221234",
        "--on",
        "2027-02-28",
    ]);
}

/// The same facts as rows of one sheet: every row is refused with its
/// column, and nothing is written.
#[test]
fn issue_19_each_impossible_fact_is_refused_through_import_and_nothing_is_written() {
    let r = Register::new();
    let header = "许可证编号,持证单位,统一社会信用代码,业务种类,发证日期,有效期至,码号,码号省份,分配日期,发证机关,续期提交日期,已报年报年度";
    let rows = [
        "粤B2-20231001,广州示例客服外包有限公司,91440101MA59XYW02A,B24,2023-01-10,2028-01-09,95888,,2023-02-01,,,",
        "粤B2-20231001,广州示例客服外包有限公司,91440101MA59XYW02A,B24,2023-01-10,2028-01-09,10101111,,2023-02-01,,,",
        "B2-20231002,示例全国呼叫中心股份有限公司,91310000MA1K3QW4RB,B25,2023-01-10,2028-01-09,95999,,2023-02-01,,,",
        "沪B2-20231003,上海示例信息技术有限公司,91310115MA1H8R7C67,B24,2023-01-10,,,,,工业和信息化部,,",
        "沪B2-20241004,上海示例信息技术有限公司,91310115MA1H8R7C67,B24,2023-12-31,,,,,,,",
        "沪B2-20231005,上海示例信息技术有限公司,91310115MA1H8R7C67,B24,2023-01-10,2028-01-11,,,,,,",
        "沪B2-20261006,上海示例信息技术有限公司,91310115MA1H8R7C67,B24,2026-06-02,,,,,,,",
        "粤B2-20231001,广州示例客服外包有限公司,91440101MA59XYW02A,B24,2023-01-10,2028-01-09,962000,,2026-06-02,,,",
        "粤B2-20231007,广州示例客服外包有限公司,91440101MA59XYW02A,B24,2023-01-10,2028-01-09,,,,,2026-06-02,",
        "粤B2-20211008,广州示例客服外包有限公司,91440101MA59XYW02A,B24,2021-01-10,2026-01-09,,,,,2026-02-01,",
        "粤B2-20231009,广州示例客服外包有限公司,91440101MA59XYW02A,B24,2023-01-10,2028-01-09,,,,,,2026",
        "粤B2-20231010,广州示例客服外包有限公司,91440101MA59XYW02A,B24,2023-01-10,2028-01-09,,,,,2022-12-01,",
    ];
    let path = r.db().with_file_name("bad.csv");
    std::fs::write(&path, format!("{header}\n{}\n", rows.join("\n"))).unwrap();
    let path = path.display().to_string();
    let out = r.run(&["--today", TODAY, "import", &path]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    let expected = [
        "  row 2, column 码号: 码号 \"95888\": is a nationwide number, and licence 粤B2-20231001 is a 地网 licence of 广东省: 95 and 1010 numbers are held only under a 全网 licence, a 地网 licence holds 96 numbers of its own province (rule: 全网 numbers under a 全网 licence)",
        "  row 3, column 码号: 码号 \"10101111\": is a nationwide number, and licence 粤B2-20231001 is a 地网 licence of 广东省: 95 and 1010 numbers are held only under a 全网 licence, a 地网 licence holds 96 numbers of its own province (rule: 全网 numbers under a 全网 licence)",
        "  row 4, column 码号: licence B2-20231002 carries B25, not B24 国内呼叫中心业务 (rule: numbers are allocated only under a licence that carries B24)",
        "  row 5, column 发证机关: is not who issues licence 沪B2-20231003: a 地网（上海市） licence is issued by 上海市通信管理局 (rule: the authority follows the scope; leave it out and licwatch fills it in)",
        "  row 6, column 发证日期: is before 2024, the year of first issue in licence number 沪B2-20241004 (rule: the number's first four digits are the year it was first issued)",
        "  row 7, column 有效期至: more than five years after 2023-01-10: a licence is valid five years, to 2028-01-10 at the latest (rule: 有效期五年; is it a typo?)",
        "  row 8, column 发证日期: is after today (2026-06-01) (rule: the register records what has happened, on the day it did)",
        "  row 9, column 分配日期: is after today (2026-06-01) (rule: the register records what has happened, on the day it did)",
        "  row 10, column 续期提交日期: is after today (2026-06-01) (rule: the register records what has happened, on the day it did)",
        "  row 11, column 续期提交日期: is after licence 粤B2-20211008 expired (2026-01-09): an expired licence can no longer be renewed (延续). Stop the business and record it with: licwatch licence end 粤B2-20211008 --on DATE --reason 到期未延续; to carry on, apply for a new licence and add it",
        "  row 12, column 已报年报年度: the 2026 annual report cannot be filed before 2027-01-01 (rule: the report on business year Y, 年度, is filed from 1 January Y+1, in the first quarter: 办法第三十五条); today is 2026-06-01",
        "  row 13, column 续期提交日期: is before licence 粤B2-20231010 was issued (2023-01-10) (rule: a renewal is applied for under the licence it renews; check the date, or the licence's --issued)",
    ];
    for line in expected {
        assert!(
            err.lines().any(|l| l == line),
            "missing:\n{line}\nin:\n{err}"
        );
    }
    assert!(err.contains("nothing was written"), "{err}");
    assert!(!r.dump().contains("licence:"), "{}", r.dump());
}

/// A register written before the rules may hold rows that break them:
/// `db check` lists each with the rule and the fixing command, changes
/// nothing, and the reminders for those rows go on.
#[test]
fn issue_19_db_check_lists_rows_that_break_a_rule_and_changes_nothing() {
    let r = register();
    r.ok(&[
        "--today",
        TODAY,
        "number",
        "add",
        "962345",
        "--licence",
        "京B2-20221234",
        "--allocated",
        "2026-01-05",
    ]);
    // What an older licwatch let through, written as it would have been.
    let conn = rusqlite::Connection::open(r.db()).unwrap();
    conn.execute_batch(
        "UPDATE licence SET authority = '工业和信息化部', expires = '2032-02-28' WHERE number = '京B2-20221234';
         UPDATE number SET number = '95888', province = '' WHERE number = '962345';
         INSERT INTO renewal (licence_id, for_expires, submitted_on, continuing)
             SELECT id, '2032-02-28', '2032-03-05', 1 FROM licence WHERE number = '京B2-20221234';
         INSERT INTO company_change (licence_id, kind, changed_on)
             SELECT id, 'address', '2021-06-01' FROM licence WHERE number = '京B2-20221234';",
    )
    .unwrap();
    drop(conn);
    let before = r.dump();
    let out = r.ok(&["--today", TODAY, "db", "check"]);
    let rules: Vec<&str> = out
        .lines()
        .skip_while(|l| !l.starts_with("rules:"))
        .collect();
    assert_eq!(
        rules,
        [
            "rules: 5 row(s) break a rule (written before the rule; left as they are, and still reminded of):",
            "  licence 京B2-20221234: --expires 2032-02-28: more than five years after 2022-03-01: a licence is valid five years, to 2027-03-01 at the latest (rule: 有效期五年; is it a typo?)",
            "    fix: licwatch licence update 京B2-20221234 --issued DATE --expires DATE",
            "  licence 京B2-20221234: --authority 工业和信息化部: is not who issues licence 京B2-20221234: a 地网（北京市） licence is issued by 北京市通信管理局 (rule: the authority follows the scope; leave it out and licwatch fills it in)",
            "    fix: licwatch licence update 京B2-20221234 --authority 北京市通信管理局",
            "  renewal mark of 京B2-20221234: --on 2032-03-05: is after licence 京B2-20221234 expired (2032-02-28): an expired licence can no longer be renewed (延续). Stop the business and record it with: licwatch licence end 京B2-20221234 --on DATE --reason 到期未延续; to carry on, apply for a new licence and add it",
            "    fix: licwatch licence end 京B2-20221234 --on DATE --reason 到期未延续",
            "  number 95888 under 京B2-20221234: number 95888: is a nationwide number, and licence 京B2-20221234 is a 地网 licence of 北京市: 95 and 1010 numbers are held only under a 全网 licence, a 地网 licence holds 96 numbers of its own province (rule: 全网 numbers under a 全网 licence)",
            "    fix: licwatch number release 95888 --on DATE, then licwatch number add 95888 --licence LICENCE --allocated DATE as it really is",
            "  change #1 of 京B2-20221234: --on 2021-06-01: is before licence 京B2-20221234 was issued (2022-03-01) (rule: a change is filed against a licence that exists; check the date, or the licence's --issued)",
            "    fix: licwatch licence update 京B2-20221234 --issued DATE if the issue date is wrong; or licwatch change file 1 --on DATE once it is filed",
        ]
    );
    assert_eq!(r.dump(), before, "db check changed the register");
    let text = r.ok(&["--today", TODAY, "--format", "json", "db", "check"]);
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    // Its rule breaks written as they are found (issue 14), the text as
    // serde_json pretty-prints the whole report.
    assert_eq!(text, serde_json::to_string_pretty(&json).unwrap() + "\n");
    assert_eq!(json["rule_breaks"].as_array().unwrap().len(), 5);
    assert_eq!(json["rule_breaks"][3]["field"], "number");
    // The number is still reminded of.
    let agenda = r.agenda_json(TODAY, "400");
    assert!(
        agenda
            .iter()
            .any(|o| o["kind"] == "number_activation" && o["number"] == "95888"),
        "{agenda:?}"
    );
}

#[test]
fn issue_19_db_check_of_a_sound_register_says_every_row_keeps_the_rules() {
    let r = register();
    let out = r.ok(&["--today", TODAY, "db", "check"]);
    assert!(out.ends_with("rules: every row keeps them\n"), "{out}");
}

/// Issue 19: the agenda's JSON and `explain` carry each obligation's basis:
/// the document, the article and the quote, or "in practice".
#[test]
fn issue_19_the_agenda_and_explain_carry_the_basis() {
    let r = register();
    let agenda = r.agenda_json("2026-11-24", "30");
    let renewal = agenda
        .iter()
        .find(|o| o["kind"] == "renewal" && o["licence"] == "京B2-20221234")
        .unwrap();
    assert_eq!(renewal["basis"]["practice"], false);
    let articles: Vec<&str> = renewal["basis"]["citations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["article"].as_str().unwrap())
        .collect();
    assert_eq!(articles, ["第七条第三款", "第六十九条"]);
    assert_eq!(
        renewal["basis"]["citations"][1]["document"],
        "《中华人民共和国电信条例》（2016年修订）"
    );
    assert!(
        renewal["basis"]["citations"][1]["quote"]
            .as_str()
            .unwrap()
            .contains("处违法所得3倍以上5倍以下罚款")
    );
    assert_eq!(renewal["deadline_basis"]["practice"], true);
    let explain = r.ok(&[
        "--today",
        "2026-11-24",
        "explain",
        renewal["obligation"].as_str().unwrap(),
    ]);
    assert!(
        explain.contains("basis: Telecommunications Regulations of the PRC (2016 revision), Art. 7(3): “未取得电信业务经营许可证，任何组织或者个人不得从事电信业务经营活动”; Art. 69:"),
        "{explain}"
    );
    assert!(
        explain.contains("deadline basis: in practice; no article says so"),
        "{explain}"
    );
}
