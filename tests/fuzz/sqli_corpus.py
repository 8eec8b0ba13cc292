"""A generated SQL-injection corpus (security-and-reliability §4 R2).

Payloads are attack cores (tautologies, UNION SELECT, stacked statements, comments, quote and
escape tricks, identifier injection, SQLite function abuse, sleeps, CVE-2023-25157-style
filter functions, encodings, NUL bytes) placed after break-out contexts (closing quotes,
parentheses, field names, numbers). Ideas from sqlmap's payload families and the OWASP Web
Security Testing Guide (WSTG-INPV-05). ``corpus()`` is deterministic: the same list every run.
"""

from __future__ import annotations

from dataclasses import dataclass

#: ATTACH and VACUUM INTO payloads name this file; the tests check that it never appears.
ATTACH_MARKER = "/tmp/geosite-sqli-attach.db"
#: Tables an attacker would aim at: the layer's, the GeoPackage's, SQLite's.
TABLES = (
    "naturalearth_lowres",
    "gpkg_contents",
    "sqlite_master",
    "rtree_naturalearth_lowres_Shape",
)

#: Where the payload starts: after nothing, inside or after a literal, after a field or value.
CONTEXTS = (
    "",
    "'",
    '"',
    "1",
    "1'",
    "1)",
    "')",
    "'))",
    "name",
    "name'",
    "OBJECTID",
    "OBJECTID)",
    "pop_est ",
    "`",
    "]",
    "\\'",
)

TAUTOLOGIES = (
    " OR 1=1",
    " OR 1=1--",
    " OR '1'='1",
    " OR '1'='1'--",
    " OR ''='",
    ' OR "1"="1',
    " OR 1=1/*",
    " OR TRUE",
    " OR 2>1",
    "||'1'='1",
    " OR 'a' LIKE '%",
    " OR 1 IN (1)",
    " OR 1 BETWEEN 0 AND 2",
    " OR NOT 1=0",
    ") OR (1=1",
    "' OR 'x'='x",
)
UNIONS = (
    " UNION SELECT name, sql FROM sqlite_master--",
    " UNION ALL SELECT NULL,NULL,NULL--",
    " UNION SELECT sqlite_version()--",
    " UNION SELECT * FROM {table}--",
    " UNION SELECT username, password FROM users--",
    " UNION SELECT 1,group_concat(tbl_name) FROM sqlite_master--",
    "') UNION SELECT OBJECTID FROM {table} WHERE ('1'='1",
)
STACKED = (
    "; DROP TABLE {table}--",
    "; DELETE FROM {table}--",
    "; UPDATE {table} SET name='pwned'--",
    "; INSERT INTO {table} (name) VALUES ('pwned')--",
    "; CREATE TABLE pwned (x)--",
    f"; ATTACH DATABASE '{ATTACH_MARKER}' AS pwned--",
    f"'; ATTACH '{ATTACH_MARKER}' AS pwned; CREATE TABLE pwned.x (y)--",
    f"; VACUUM INTO '{ATTACH_MARKER}'--",
    "; PRAGMA writable_schema=ON--",
    "; PRAGMA journal_mode=OFF--",
    "; SELECT load_extension('/tmp/evil')--",
    "; DETACH DATABASE main--",
)
FUNCTIONS = (
    " OR randomblob(1000000000) IS NOT NULL",
    " OR length(randomblob(1000000000))>0",
    " AND 1=(SELECT 1 FROM (SELECT randomblob(1000000000)))",
    " OR CASE WHEN 1=1 THEN randomblob(1000000000) ELSE 1 END",
    " OR 1=LIKE('ABCDEFG',UPPER(HEX(RANDOMBLOB(500000000/2))))",
    " OR zeroblob(1000000000)",
    " OR printf('%.*c',1000000000,'x')",
    " OR sqlite_version()>'0'",
    " OR load_extension('/tmp/evil')",
    " OR load_extension('mod_spatialite')",
    " OR readfile('/etc/passwd')",
    " OR writefile('/tmp/pwned','x')",
    " OR fts3_tokenizer('simple')",
    " OR pg_sleep(2)",
    "; SELECT pg_sleep(2)--",
    " OR 1=(SELECT 1 FROM pg_sleep(2))",
    " AND SLEEP(2)",
    "; WAITFOR DELAY '0:0:2'--",
    " OR BENCHMARK(100000000,MD5(1))",
    " OR dbms_pipe.receive_message('a',2)=1",
    " OR (SELECT COUNT(*) FROM sqlite_master AS a, sqlite_master AS b, sqlite_master AS c)>0",
    # CVE-2023-25157 (GeoServer): OGC filter functions abused to reach SQL.
    " OR strEndsWith(name,'x') = true",
    " OR strStartsWith(name,'x')",
    " OR PropertyIsLike(name,'%')",
    " OR jsonArrayContains(name,'x')",
    " OR FeatureId('x')",
    " OR ST_Intersects(Shape, Shape)",
    " OR json_extract('{\"a\":1}','$.a')=1",
)
COMMENTS = (
    "--",
    "-- -",
    "/*",
    "*/",
    "/**/OR/**/1=1",
    "#",
    ";--",
    ";",
    "/*! OR 1=1*/",
)
ENCODINGS = (
    "%27 OR 1=1--",
    "%2527 OR 1=1",
    "\u2019 OR 1=1--",
    "\uff07 OR \uff071\uff07=\uff071",
    "\u02bc OR 1=1",
    "\x00' OR 1=1--",
    "\x00",
    "' OR 1=1\x00",
    "\\x27 OR 1=1",
    " OR char(39)=char(39)",
    " OR X'27'=X'27'",
    " OR 0x27=0x27",
    "&#39; OR 1=1",
    "%u0027 OR 1=1",
    "\u0000; DROP TABLE {table}",
    "\r\n OR 1=1",
    "\u202e1=1 RO",
)
IDENTIFIERS = (
    '"name" OR "1"="1"',
    '"name"; DROP TABLE {table}--',
    '"OBJECTID" FROM {table}--',
    'name" OR "1"="1',
    "`name` OR 1=1",
    "[name] OR 1=1",
    '"sqlite_master"',
    '"name"||sqlite_version()',
    "name, sqlite_version()",
    "name, (SELECT sql FROM sqlite_master)",
    "OBJECTID DESC, (SELECT 1)",
    "OBJECTID; DROP TABLE {table}",
    "CASE WHEN 1=1 THEN name ELSE pop_est END",
    "1 DESC",
    "name COLLATE NOCASE",
    "name ASC LIMIT 1",
)

FAMILIES = {
    "tautology": TAUTOLOGIES,
    "union": UNIONS,
    "stacked": STACKED,
    "function": FUNCTIONS,
    "comment": COMMENTS,
    "encoding": ENCODINGS,
    "identifier": IDENTIFIERS,
}
#: Markers of payloads that would take seconds if a database ever ran them.
SLEEPY = ("sleep", "randomblob", "zeroblob", "printf", "benchmark", "waitfor", "receive_message")


@dataclass(frozen=True)
class Payload:
    """One injection attempt."""

    text: str
    family: str

    @property
    def sleepy(self) -> bool:
        """Whether executing it would be measurably slow (the timing check's set)."""
        lowered = self.text.lower()
        return any(marker in lowered for marker in SLEEPY) or "from sqlite_master as a" in lowered


def corpus() -> list[Payload]:
    """Every context x every attack core (each table for those that name one), deduplicated."""
    seen: set[str] = set()
    out: list[Payload] = []
    for family, cores in FAMILIES.items():
        for index, core in enumerate(cores):
            # Contexts rotate per core so the corpus stays near 1,000 and every context is
            # used by every family; cores naming a table get each table in turn.
            picks = [CONTEXTS[(index + k) % len(CONTEXTS)] for k in range(0, len(CONTEXTS), 2)]
            for n, context in enumerate(picks):
                text = context + core.replace("{table}", TABLES[n % len(TABLES)])
                if text not in seen:
                    seen.add(text)
                    out.append(Payload(text, family))
    long_ones = (
        "' OR 1=1--" + " " * 10_000,
        "name = '" + "x" * 20_000 + "' OR 1=1",
        "1" * 5_000 + " OR 1=1",
        "(" * 500 + "1=1" + ")" * 500 + " OR 1=1",
        " OR ".join(["1=1"] * 2_000),
    )
    out.extend(Payload(text, "long") for text in long_ones)
    return out


if __name__ == "__main__":
    payloads = corpus()
    print(len(payloads), "payloads;", sum(p.sleepy for p in payloads), "sleep-style")
    for family in (*FAMILIES, "long"):
        print(f"  {family}: {sum(p.family == family for p in payloads)}")
