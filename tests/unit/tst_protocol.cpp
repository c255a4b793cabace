// Protocol::parse and validate, table-driven: every message type with its required
// fields, wrong JSON types, ranges (lease n, page limits), lease ids as strings, which
// role may send what, oversized frames, non-objects and unknown types. Every refusal is
// a Usage (or TooLarge) error whose text is one printable line: the coordinator sends it
// back to the client as is.

#include "cluster/protocol.h"

#include "common/printablecheck.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QtTest>

using namespace SegScale;
using namespace SegScale::Cluster;
using Role = Protocol::Role;

Q_DECLARE_METATYPE(SegScale::Cluster::Protocol::Role)

namespace {

QJsonObject fromText(const char *json)
{
    return QJsonDocument::fromJson(QByteArray(json)).object();
}

// One valid message of every type, as the role that may send it.
struct Valid {
    const char *name;
    Role role;
    const char *json;
};

constexpr Valid kValid[] = {
    {"hello agent", Role::None,
     R"({"type":"hello","protocol":1,"role":"agent","token":"t","name":"a1","host":"h","device":"cuda:0","threads":8,
        "version":"1.2.3","precision":"fp16","fresh":true,"capabilities":["sftp","fp16"]})"},
    {"hello admin", Role::None, R"({"type":"hello","protocol":1,"role":"admin","token":"t","id":1})"},
    {"lease", Role::Agent, R"({"type":"lease","n":16,"id":3})"},
    {"heartbeat", Role::Agent, R"({"type":"heartbeat","leases":["4611686018427387905","7"],"stats":{"ips":3.5,"gpu":"A100","busy":true}})"},
    {"heartbeat bare", Role::Agent, R"({"type":"heartbeat"})"},
    {"result", Role::Agent,
     R"({"type":"result","image":12,"lease":"4611686018427387905","width":640,"height":480,"composition":[0.25,0.75],
        "label":"/out/12.png","overlay":"/out/12-overlay.jpg","fingerprint":"abcd","timings":{"infer":12.5}})"},
    {"failure", Role::Agent, R"({"type":"failure","image":12,"lease":"99","category":"storage","message":"connection reset"})"},
    {"release", Role::Agent, R"({"type":"release","images":[1,2,3]})"},
    {"model-chunk", Role::Agent, R"({"type":"model-chunk","offset":1048576})"},
    {"bye agent", Role::Agent, R"({"type":"bye","release":[4,5]})"},
    {"bye admin", Role::Admin, R"({"type":"bye"})"},
    {"summary", Role::Admin, R"({"type":"summary","id":9})"},
    {"workers", Role::Admin, R"({"type":"workers"})"},
    {"results", Role::Admin, R"({"type":"results","after":100,"limit":50})"},
    {"results sorted", Role::Admin,
     R"({"type":"results","after":100,"limit":50,"sort":"sky","order":"desc","where":["sky>0.3","road < 5%"],"dataset":2})"},
    {"composition", Role::Admin, R"({"type":"composition"})"},
    {"export", Role::Admin, R"({"type":"export","format":"wide","after":12,"limit":500})"},
    {"image", Role::Admin, R"({"type":"image","image":12,"part":"label","offset":1048576})"},
    {"errors", Role::Admin, R"({"type":"errors","after":0,"limit":1000,"category":"corrupt"})"},
    {"retry", Role::Admin, R"({"type":"retry","category":"storage"})"},
    {"retry all", Role::Admin, R"({"type":"retry"})"},
    {"errors filtered", Role::Admin,
     R"({"type":"errors","category":null,"worker":"w2","dataset":2,"since":1700000000000,"until":1700003600000})"},
    {"error-facets", Role::Admin, R"({"type":"error-facets"})"},
    {"retry images", Role::Admin, R"({"type":"retry","images":[5,10,15]})"},
    {"audit-sample", Role::Admin, R"({"type":"audit-sample","mode":"extremes","k":20,"seed":7,"class":3})"},
    {"audit-mark", Role::Admin, R"({"type":"audit-mark","image":12,"verdict":"flagged","note":"sky missed","by":"ana"})"},
    {"audit-marks", Role::Admin, R"({"type":"audit-marks","images":[1,2]})"},
    {"audit-summary", Role::Admin, R"({"type":"audit-summary"})"},
    {"drain", Role::Admin, R"({"type":"drain","worker":"a1"})"},
    {"stop", Role::Admin, R"({"type":"stop","worker":"a1"})"},
    {"subscribe", Role::Admin, R"({"type":"subscribe","interval":250})"},
    {"heartbeat accelerator", Role::Agent,
     R"({"type":"heartbeat","stats":{"rss_mib":900},"accelerator":{"device":"cuda:0","memory_used_mib":2048,"memory_total_mib":143771}})"},
    {"datasets", Role::Admin, R"({"type":"datasets","id":4})"},
    {"throughput", Role::Admin, R"({"type":"throughput","minutes":180,"bucket_seconds":60})"},
    {"throughput default", Role::Admin, R"({"type":"throughput"})"},
};

Role roleOf(const char *name)
{
    for (const Valid &v : kValid)
        if (qstrcmp(v.name, name) == 0)
            return v.role;
    qFatal("no valid message named %s", name);
}

QByteArray frame(const QJsonObject &m)
{
    return Protocol::serialize(m);
}

QJsonObject with(QJsonObject m, const char *key, const QJsonValue &v)
{
    m.insert(QLatin1StringView(key), v);
    return m;
}

QJsonObject without(QJsonObject m, const char *key)
{
    m.remove(QLatin1StringView(key));
    return m;
}

} // namespace

class TestProtocol : public QObject {
    Q_OBJECT

private:
    void addRow(const QString &name, const QByteArray &f, Role role, bool accepted)
    {
        QTest::newRow(qPrintable(name)) << f << role << accepted;
    }

private Q_SLOTS:
    void parse_data()
    {
        QTest::addColumn<QByteArray>("frame");
        QTest::addColumn<Role>("role");
        QTest::addColumn<bool>("accepted");

        const auto valid = [](const char *name) {
            for (const Valid &v : kValid)
                if (qstrcmp(v.name, name) == 0)
                    return fromText(v.json);
            return QJsonObject();
        };

        // Every valid message is accepted from its role.
        for (const Valid &v : kValid) {
            QVERIFY2(!fromText(v.json).isEmpty(), v.name);
            addRow(QStringLiteral("valid %1").arg(QLatin1StringView(v.name)), frame(fromText(v.json)), v.role, true);
        }

        // Required fields: each one removed (or null) is refused.
        const struct {
            const char *message;
            const char *fields;
        } required[] = {
            {"hello agent", "protocol role"},
            {"lease", "n"},
            {"result", "image lease width height composition"},
            {"failure", "image lease category message"},
            {"release", "images"},
            {"model-chunk", "offset"},
            {"drain", "worker"},
            {"stop", "worker"},
        };
        for (const auto &r : required) {
            const Role role = roleOf(r.message);
            for (const QByteArray &field : QByteArray(r.fields).split(' ')) {
                addRow(QStringLiteral("%1 without %2").arg(QLatin1StringView(r.message), QLatin1StringView(field)),
                       frame(without(valid(r.message), field.constData())), role, false);
                addRow(QStringLiteral("%1 with null %2").arg(QLatin1StringView(r.message), QLatin1StringView(field)),
                       frame(with(valid(r.message), field.constData(), QJsonValue::Null)), role, false);
            }
        }
        // Optional fields may be left out.
        addRow(QStringLiteral("hello with only protocol and role"), R"({"type":"hello","protocol":1,"role":"agent"})", Role::None, true);
        addRow(QStringLiteral("result without optional fields"),
               R"({"type":"result","image":1,"lease":"5","width":1,"height":1,"composition":[]})", Role::Agent, true);

        // Wrong JSON types.
        const struct {
            const char *message;
            const char *field;
            QJsonValue value;
        } wrongTypes[] = {
            {"hello agent", "protocol", QStringLiteral("1")},
            {"hello agent", "protocol", 1.5},
            {"hello agent", "role", 1},
            {"hello agent", "name", QJsonArray{QStringLiteral("a")}},
            {"hello agent", "threads", QStringLiteral("8")},
            {"hello agent", "fresh", 1},
            {"hello agent", "fresh", QStringLiteral("true")},
            {"hello agent", "capabilities", QStringLiteral("sftp")},
            {"hello agent", "capabilities", QJsonArray{1, 2}},
            {"lease", "n", QStringLiteral("16")},
            {"lease", "n", true},
            {"lease", "n", 2.5},
            {"lease", "id", -1},
            {"lease", "id", QStringLiteral("3")},
            {"heartbeat", "leases", QStringLiteral("7")},
            {"heartbeat", "stats", QJsonArray{}},
            {"heartbeat", "stats", QJsonObject{{QStringLiteral("nested"), QJsonObject{}}}},
            {"heartbeat", "stats", QJsonObject{{QStringLiteral("list"), QJsonArray{1}}}},
            {"result", "image", QStringLiteral("12")},
            {"result", "image", 0},
            {"result", "width", 0},
            {"result", "width", (1 << 20) + 1},
            {"result", "composition", QJsonObject{}},
            {"result", "composition", QJsonArray{QStringLiteral("0.5")}},
            {"result", "label", 5},
            {"result", "label", QString(4097, QLatin1Char('x'))},
            {"result", "timings", QStringLiteral("fast")},
            {"failure", "category", 3},
            {"failure", "message", QJsonObject{}},
            {"release", "images", QJsonArray{-1}},
            {"release", "images", QJsonArray{1.5}},
            {"release", "images", QJsonArray{QStringLiteral("1")}},
            {"release", "images", 1},
            {"model-chunk", "offset", -1},
            {"bye agent", "release", QJsonArray{QJsonObject{}}},
            {"results", "after", -1},
            {"results", "limit", 0},
            {"results", "limit", Protocol::kMaxPageRows + 1},
            {"results sorted", "sort", 3},
            {"results sorted", "where", QStringLiteral("sky>0.3")},
            {"results sorted", "where", QJsonArray{1}},
            {"results sorted", "dataset", 0},
            {"export", "format", QJsonValue()},
            {"export", "limit", 100001},
            {"image", "image", 0},
            {"image", "part", QJsonValue()},
            {"image", "offset", -1},
            {"errors", "category", 7},
            {"errors filtered", "worker", 2},
            {"errors filtered", "dataset", 0},
            {"errors filtered", "since", -1},
            {"errors filtered", "until", QStringLiteral("yesterday")},
            {"retry images", "images", QJsonArray{QStringLiteral("5")}},
            {"audit-sample", "mode", 1},
            {"audit-sample", "k", 0},
            {"audit-sample", "k", Protocol::kMaxAuditSample + 1},
            {"audit-sample", "class", -1},
            {"audit-mark", "image", 0},
            {"audit-mark", "note", QString(4097, QLatin1Char('x'))},
            {"audit-marks", "images", QJsonArray{QJsonObject{}}},
            {"drain", "worker", 1},
            {"subscribe", "interval", 99},
            {"subscribe", "interval", 60001},
            {"heartbeat accelerator", "accelerator", QStringLiteral("cuda:0")},
            {"throughput", "minutes", 0},
            {"throughput", "minutes", 43201},
            {"throughput", "bucket_seconds", 0},
            {"throughput", "bucket_seconds", 86401},
            {"throughput", "minutes", QStringLiteral("60")},
        };
        for (const auto &w : wrongTypes) {
            const Role role = roleOf(w.message);
            addRow(QStringLiteral("%1 with %2=%3")
                       .arg(QLatin1StringView(w.message), QLatin1StringView(w.field),
                            QString::fromUtf8(QJsonDocument(QJsonArray{w.value}).toJson(QJsonDocument::Compact)).left(40)),
                   frame(with(valid(w.message), w.field, w.value)), role, false);
        }

        // Ranges: lease n from 1 to 1024.
        for (const int n : {0, 1, 1024, 1025, -1})
            addRow(QStringLiteral("lease n=%1").arg(n), frame(QJsonObject{{QStringLiteral("type"), QStringLiteral("lease")}, {QStringLiteral("n"), n}}),
                   Role::Agent, n >= 1 && n <= Protocol::kMaxLeaseBatch);
        addRow(QStringLiteral("lease n=1e300"), R"({"type":"lease","n":1e300})", Role::Agent, false);
        addRow(QStringLiteral("results limit=1000"), R"({"type":"results","limit":1000})", Role::Admin, true);
        addRow(QStringLiteral("results after=2^53-1"), R"({"type":"results","after":9007199254740991})", Role::Admin, true);
        addRow(QStringLiteral("results after=2^53+2"), R"({"type":"results","after":9007199254740994})", Role::Admin, false);

        // Lease ids: strings of 1 to 19 digits, above 0, that fit in 63 bits.
        const struct {
            const char *lease;
            bool ok;
        } leases[] = {
            {R"("1")", true},
            {R"("4611686018427387905")", true},
            {R"("9223372036854775807")", true},   // 19 digits, the largest qint64
            {R"("9999999999999999999")", false},  // 19 digits, too large
            {R"("00000000000000000001")", false}, // 20 characters
            {R"("0")", false},
            {R"("")", false},
            {R"("-5")", false},
            {R"("+5")", false},
            {R"(" 5")", false},
            {R"("5 ")", false},
            {R"("0x1f")", false},
            {R"("1e5")", false},
            {R"("٣")", false},  // an Arabic-Indic digit: a digit, but not 0-9
            {"5", false},       // a number, not a string
            {"4611686018427387905", false},
            {"true", false},
            {"[\"5\"]", false},
        };
        for (const auto &l : leases) {
            addRow(QStringLiteral("result lease %1").arg(QString::fromUtf8(l.lease)),
                   QByteArray(R"({"type":"result","image":1,"width":1,"height":1,"composition":[],"lease":)") + l.lease + '}', Role::Agent,
                   l.ok);
            addRow(QStringLiteral("heartbeat lease %1").arg(QString::fromUtf8(l.lease)),
                   QByteArray(R"({"type":"heartbeat","leases":[)") + l.lease + "]}", Role::Agent, l.ok);
        }

        // Roles: before hello only hello; after hello never hello again; agents cannot
        // send admin types nor admins agent types; bye is for both.
        for (const Valid &v : kValid) {
            for (const Role role : {Role::None, Role::Agent, Role::Admin}) {
                if (role == v.role)
                    continue;
                const QString type = fromText(v.json).value(QStringLiteral("type")).toString();
                const bool ok = type == QLatin1StringView("bye") && role != Role::None;
                addRow(QStringLiteral("%1 as %2").arg(QLatin1StringView(v.name), Protocol::roleName(role)), frame(fromText(v.json)), role, ok);
            }
        }

        // Not a message at all.
        addRow(QStringLiteral("empty"), QByteArray(), Role::None, false);
        addRow(QStringLiteral("not JSON"), "hello", Role::None, false);
        addRow(QStringLiteral("truncated"), R"({"type":"lease","n":1)", Role::Agent, false);
        addRow(QStringLiteral("array"), R"([{"type":"lease","n":1}])", Role::Agent, false);
        addRow(QStringLiteral("string"), R"("lease")", Role::Agent, false);
        addRow(QStringLiteral("number"), "42", Role::Agent, false);
        addRow(QStringLiteral("null"), "null", Role::Agent, false);
        addRow(QStringLiteral("no type"), R"({"n":1})", Role::Agent, false);
        addRow(QStringLiteral("numeric type"), R"({"type":1})", Role::Agent, false);
        addRow(QStringLiteral("unknown type"), R"({"type":"format-disk"})", Role::Admin, false);
        addRow(QStringLiteral("unknown type, control bytes"), "{\"type\":\"a\\nb\\u0000c\\u001b[31m\"}", Role::Agent, false);
        addRow(QStringLiteral("unknown type, long"), QByteArray("{\"type\":\"") + QByteArray(100000, 'x') + "\"}", Role::Agent, false);
        addRow(QStringLiteral("unknown type, split surrogate"),
               QByteArray("{\"type\":\"") + QByteArray(31, 'x') + "\xF0\x9F\x98\x80\"}", Role::Agent, false);
        addRow(QStringLiteral("type case"), R"({"type":"Lease","n":1})", Role::Agent, false);
        addRow(QStringLiteral("deep nesting"), R"({"type":"lease","n":1,"x":)" + QByteArray(5000, '[') + QByteArray(5000, ']') + '}',
               Role::Agent, false);
        addRow(QStringLiteral("NaN"), R"({"type":"lease","n":NaN})", Role::Agent, false);
        addRow(QStringLiteral("Infinity"), R"({"type":"lease","n":Infinity})", Role::Agent, false);
        addRow(QStringLiteral("huge number"), R"({"type":"lease","n":1e999})", Role::Agent, false);
        addRow(QStringLiteral("unknown extra field"), R"({"type":"lease","n":1,"extra":{"deep":[1,2]}})", Role::Agent, true);
    }

    void parse()
    {
        QFETCH(QByteArray, frame);
        QFETCH(Role, role);
        QFETCH(bool, accepted);
        const auto parsed = Protocol::parse(frame, role);
        if (accepted) {
            QVERIFY2(parsed.ok(), parsed.ok() ? "" : qPrintable(parsed.error().message));
            QVERIFY(parsed->contains(QStringLiteral("type")));
        } else {
            QVERIFY2(!parsed.ok(), "accepted, should have been refused");
            QCOMPARE(parsed.error().category, ErrorCategory::Usage);
            QVERIFY2(!parsed.error().message.isEmpty(), "a refusal needs a reason");
            QVERIFY2(Tests::printable(parsed.error().message), parsed.error().message.toUtf8().toPercentEncoding(" \"").constData());
            QVERIFY2(parsed.error().message.size() <= 300, qPrintable(parsed.error().message.left(300)));
        }
        // validate() agrees with parse() on anything that is a JSON object.
        const QJsonDocument doc = QJsonDocument::fromJson(frame);
        if (doc.isObject() && frame.size() <= Protocol::kMaxMessageBytes)
            QCOMPARE(Protocol::validate(doc.object(), role).ok(), accepted);
    }

    void tooLarge()
    {
        // Just over the limit: refused before anything parses it, whatever it holds.
        QByteArray big = "{\"type\":\"lease\",\"n\":1,\"pad\":\"";
        big += QByteArray(Protocol::kMaxMessageBytes - big.size() - 2, 'x');
        big += "\"}";
        QCOMPARE(big.size(), Protocol::kMaxMessageBytes);
        QVERIFY2(Protocol::parse(big, Role::Agent).ok(), "a frame of exactly the limit is allowed");
        big.insert(big.size() - 2, 'x');
        const auto parsed = Protocol::parse(big, Role::Agent);
        QVERIFY(!parsed.ok());
        QCOMPARE(parsed.error().category, ErrorCategory::TooLarge);
        QVERIFY(Tests::printable(parsed.error().message));
        QVERIFY(!Protocol::parse(QByteArray(Protocol::kMaxMessageBytes + 1, 'x'), Role::None).ok());
        QCOMPARE(Protocol::parse(QByteArray(Protocol::kMaxMessageBytes + 1, 'x'), Role::None).error().category, ErrorCategory::TooLarge);
    }

    void leaseIds()
    {
        QCOMPARE(Protocol::leaseId(QStringLiteral("42")), qint64(42));
        QCOMPARE(Protocol::leaseId(QStringLiteral("9223372036854775807")), std::numeric_limits<qint64>::max());
        QCOMPARE(Protocol::leaseId(QJsonValue(42)), qint64(0));
        QCOMPARE(Protocol::leaseId(QStringLiteral("0")), qint64(0));
        QCOMPARE(Protocol::leaseId(QStringLiteral("-42")), qint64(0));
        QCOMPARE(Protocol::leaseId(QJsonValue()), qint64(0));
        // What the coordinator sends reads back as the same id: a string, never a double.
        const qint64 id = (qint64(1) << 62) + 1;
        QVERIFY(Protocol::leaseIdValue(id).isString());
        QCOMPARE(Protocol::leaseId(Protocol::leaseIdValue(id)), id);
        const QJsonObject m{{QStringLiteral("lease"), Protocol::leaseIdValue(id)}};
        QCOMPARE(Protocol::leaseId(QJsonDocument::fromJson(Protocol::serialize(m)).object().value(QStringLiteral("lease"))), id);
    }

    void errorReply()
    {
        const QJsonObject e = Protocol::error(QStringLiteral("auth"), QStringLiteral("no"), 7);
        QCOMPARE(e.value(QStringLiteral("type")).toString(), QStringLiteral("error"));
        QCOMPARE(e.value(QStringLiteral("code")).toString(), QStringLiteral("auth"));
        QCOMPARE(e.value(QStringLiteral("id")).toInt(), 7);
        QVERIFY(!Protocol::error(QStringLiteral("auth"), QStringLiteral("no")).contains(QStringLiteral("id")));
    }
};

QTEST_GUILESS_MAIN(TestProtocol)
#include "tst_protocol.moc"
