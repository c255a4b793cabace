#include "cluster/protocol.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonParseError>

#include <cmath>
#include <span>

namespace SegScale::Cluster {
namespace {

// Id: a lease id, 63 random bits, more than a JSON number holds exactly: sent as a
// string of decimal digits.
enum class Kind { String, Int, Number, Bool, Object, Id, IntArray, NumberArray, StringArray, IdArray };

struct Field {
    const char *name;
    Kind kind;
    bool required;
    double min = 0;        // Int/Number: range; String/arrays: max length
    double max = 0;
};

struct Schema {
    const char *type;
    Protocol::Role role;  // who may send it (None: anyone before hello)
    std::span<const Field> fields;
};

constexpr double kMaxId = 9007199254740991.0;  // 2^53 - 1: the largest integer a double holds exactly
constexpr double kShortText = 256;
constexpr double kLongText = 4096;

constexpr Field kHello[] = {
    {"protocol", Kind::Int, true, 0, 1000000},
    {"role", Kind::String, true, 0, 16},
    {"token", Kind::String, false, 0, kLongText},
    {"name", Kind::String, false, 0, kShortText},
    {"host", Kind::String, false, 0, kShortText},
    {"device", Kind::String, false, 0, 64},
    {"threads", Kind::Int, false, 0, 65536},
    {"version", Kind::String, false, 0, 64},
    {"precision", Kind::String, false, 0, 16},
    {"fresh", Kind::Bool, false},
    {"capabilities", Kind::StringArray, false, 0, 64},
};
constexpr Field kLease[] = {{"n", Kind::Int, true, 1, Protocol::kMaxLeaseBatch}};
constexpr Field kHeartbeat[] = {
    {"leases", Kind::IdArray, false, 0, Protocol::kMaxListItems},
    {"stats", Kind::Object, false},
    // Only from an agent on an accelerator: {"device": "cuda:0", "memory_used_mib", ...}.
    {"accelerator", Kind::Object, false},
};
constexpr Field kResult[] = {
    {"image", Kind::Int, true, 1, kMaxId},
    {"lease", Kind::Id, true},
    {"width", Kind::Int, true, 1, 1 << 20},
    {"height", Kind::Int, true, 1, 1 << 20},
    {"composition", Kind::NumberArray, true, 0, Protocol::kMaxClasses},
    {"label", Kind::String, false, 0, kLongText},
    {"overlay", Kind::String, false, 0, kLongText},
    {"fingerprint", Kind::String, false, 0, 128},
    {"timings", Kind::Object, false},
};
constexpr Field kFailure[] = {
    {"image", Kind::Int, true, 1, kMaxId},
    {"lease", Kind::Id, true},
    {"category", Kind::String, true, 0, 32},
    {"message", Kind::String, true, 0, kLongText},
};
constexpr Field kRelease[] = {{"images", Kind::IntArray, true, 0, Protocol::kMaxListItems}};
constexpr Field kModelChunk[] = {{"offset", Kind::Int, true, 0, kMaxId}};
constexpr Field kCheck[] = {{"index", Kind::Int, true, 0, 1000}};
constexpr Field kCheckResult[] = {
    {"passed", Kind::Bool, true},
    {"agreement", Kind::Number, false},
    {"message", Kind::String, false, 0, kLongText},
};
constexpr Field kBye[] = {{"release", Kind::IntArray, false, 0, Protocol::kMaxListItems}};
// The errors listing's filters (absent or null: any); since/until: ms since the epoch.
constexpr Field kErrorsPage[] = {
    {"after", Kind::Int, false, 0, kMaxId},
    {"limit", Kind::Int, false, 1, Protocol::kMaxPageRows},
    {"category", Kind::String, false, 0, 32},
    {"worker", Kind::String, false, 0, kShortText},
    {"dataset", Kind::Int, false, 1, kMaxId},
    {"since", Kind::Int, false, 0, kMaxId},
    {"until", Kind::Int, false, 0, kMaxId},
};
// A category, or a list of image ids (the rows a user selected), not both.
constexpr Field kRetry[] = {
    {"category", Kind::String, false, 0, 32},
    {"images", Kind::IntArray, false, 0, Protocol::kMaxListItems},
};
constexpr Field kAuditSample[] = {
    {"mode", Kind::String, true, 0, 16},
    {"k", Kind::Int, false, 1, Protocol::kMaxAuditSample},
    {"seed", Kind::Int, false, 0, kMaxId},
    {"class", Kind::Int, false, 0, Protocol::kMaxClasses - 1},
};
constexpr Field kAuditMark[] = {
    {"image", Kind::Int, true, 1, kMaxId},
    {"verdict", Kind::String, true, 0, 16},  // accepted, flagged, or none (clears the mark)
    {"note", Kind::String, false, 0, kLongText},
    {"by", Kind::String, false, 0, kShortText},
};
constexpr Field kAuditMarks[] = {{"images", Kind::IntArray, true, 0, Protocol::kMaxPageRows}};
constexpr Field kAuditSummary[] = {{"finished", Kind::Bool, false}};  // false: marks only (fast)
constexpr Field kResultsPage[] = {
    {"after", Kind::Int, false, 0, kMaxId},
    {"limit", Kind::Int, false, 1, Protocol::kMaxPageRows},
    {"sort", Kind::String, false, 0, kShortText},   // a class name, or "image"
    {"order", Kind::String, false, 0, 8},           // "asc" | "desc"
    {"where", Kind::StringArray, false, 0, 32},     // "sky>0.3", "road<5%"
    {"dataset", Kind::Int, false, 1, kMaxId},
};
constexpr Field kExport[] = {
    {"format", Kind::String, true, 0, 8},  // "wide" | "long"
    {"after", Kind::Int, false, 0, kMaxId},
    {"limit", Kind::Int, false, 1, 100000},
    {"audit", Kind::Bool, false},  // the audit marks as two more columns
};
constexpr Field kImage[] = {
    {"image", Kind::Int, true, 1, kMaxId},
    {"part", Kind::String, true, 0, 8},  // "photo" | "label"
    {"offset", Kind::Int, false, 0, kMaxId},
};
constexpr Field kWorker[] = {{"worker", Kind::String, true, 0, kShortText}};
constexpr Field kLaunch[] = {
    {"kind", Kind::String, true, 0, 16},
    {"count", Kind::Int, true, 1, 1000},
    {"host", Kind::String, false, 0, kShortText},
    {"partition", Kind::String, false, 0, 64},
    {"time_limit", Kind::String, false, 0, 32},
    {"program", Kind::String, false, 0, kLongText},
    {"name_prefix", Kind::String, false, 0, 64},
    {"args", Kind::StringArray, false, 0, 64},
    {"template", Kind::String, false, 0, 65536},  // a Slurm batch template
};
constexpr Field kLaunchedId[] = {{"launch_id", Kind::String, true, 0, kShortText}};
constexpr Field kSubscribe[] = {{"interval", Kind::Int, false, 100, 60000}};
// Images finished per bucket over the last `minutes` (at most 30 days).
constexpr Field kThroughput[] = {
    {"minutes", Kind::Int, false, 1, 43200},
    {"bucket_seconds", Kind::Int, false, 1, 86400},
};

using R = Protocol::Role;
constexpr Schema kSchemas[] = {
    {"hello", R::None, kHello},
    {"lease", R::Agent, kLease},
    {"heartbeat", R::Agent, kHeartbeat},
    {"result", R::Agent, kResult},
    {"failure", R::Agent, kFailure},
    {"release", R::Agent, kRelease},
    {"model-chunk", R::Agent, kModelChunk},
    {"check", R::Agent, kCheck},
    {"check-result", R::Agent, kCheckResult},
    {"bye", R::Agent, kBye},
    {"summary", R::Admin, {}},
    {"workers", R::Admin, {}},
    {"results", R::Admin, kResultsPage},
    {"composition", R::Admin, {}},
    {"export", R::Admin, kExport},
    {"image", R::Admin, kImage},
    {"errors", R::Admin, kErrorsPage},
    {"error-facets", R::Admin, {}},
    {"retry", R::Admin, kRetry},
    {"audit-sample", R::Admin, kAuditSample},
    {"audit-mark", R::Admin, kAuditMark},
    {"audit-marks", R::Admin, kAuditMarks},
    {"audit-summary", R::Admin, kAuditSummary},
    {"drain", R::Admin, kWorker},
    {"stop", R::Admin, kWorker},
    {"subscribe", R::Admin, kSubscribe},
    {"launch", R::Admin, kLaunch},
    {"launched", R::Admin, {}},
    {"stop-launched", R::Admin, kLaunchedId},
    {"datasets", R::Admin, {}},
    {"throughput", R::Admin, kThroughput},
};

bool isLeaseId(const QJsonValue &v)
{
    return v.isString() && Protocol::leaseId(v) > 0;
}

bool isInteger(const QJsonValue &v, double min, double max)
{
    if (!v.isDouble())
        return false;
    const double d = v.toDouble();
    return std::isfinite(d) && d == std::floor(d) && d >= min && d <= max;
}

// A piece of what the client sent, quoted in a refusal: the refusal goes back to the
// client and into the log as one line, so control characters, line breaks and broken
// surrogates become '?'.
QString excerpt(const QString &text)
{
    QString out;
    int n = 0;
    for (const char32_t c : text.toUcs4()) {
        if (++n > 32)
            break;
        const bool fine = c >= 0x20 && c != 0x7f && QChar::isPrint(c) && !QChar::isSurrogate(c);
        out += fine ? QString::fromUcs4(&c, 1) : QStringLiteral("?");
    }
    return out;
}

Result<void> refuse(const QString &what)
{
    return Error{ErrorCategory::Usage, what};
}

Result<void> checkField(const QJsonObject &m, const Field &f)
{
    const QString name = QString::fromLatin1(f.name);
    const auto it = m.constFind(name);
    if (it == m.constEnd() || it->isNull()) {
        if (f.required)
            return refuse(QStringLiteral("\"%1\" is required in a %2 message").arg(name, m.value(QStringLiteral("type")).toString()));
        return {};
    }
    const QJsonValue v = *it;
    switch (f.kind) {
    case Kind::String:
        if (!v.isString() || v.toString().size() > f.max)
            return refuse(QStringLiteral("\"%1\" must be a string of at most %2 characters").arg(name).arg(f.max));
        return {};
    case Kind::Int:
        if (!isInteger(v, f.min, f.max))
            return refuse(QStringLiteral("\"%1\" must be an integer from %2 to %3").arg(name).arg(f.min, 0, 'f', 0).arg(f.max, 0, 'f', 0));
        return {};
    case Kind::Number:
        if (!v.isDouble() || !std::isfinite(v.toDouble()))
            return refuse(QStringLiteral("\"%1\" must be a number").arg(name));
        return {};
    case Kind::Id:
        if (!isLeaseId(v))
            return refuse(QStringLiteral("\"%1\" must be a lease id (a string of digits)").arg(name));
        return {};
    case Kind::Bool:
        if (!v.isBool())
            return refuse(QStringLiteral("\"%1\" must be true or false").arg(name));
        return {};
    case Kind::Object: {
        if (!v.isObject())
            return refuse(QStringLiteral("\"%1\" must be an object").arg(name));
        // Stats and timings: flat objects of numbers and short strings, nothing nested.
        const QJsonObject o = v.toObject();
        if (o.size() > 64)
            return refuse(QStringLiteral("\"%1\" has more than 64 entries").arg(name));
        for (auto e = o.begin(); e != o.end(); ++e) {
            const bool fine = (e->isDouble() && std::isfinite(e->toDouble())) || (e->isString() && e->toString().size() <= kShortText) ||
                              e->isBool();
            if (!fine || e.key().size() > 64)
                return refuse(QStringLiteral("\"%1\" may hold only numbers, short strings and booleans").arg(name));
        }
        return {};
    }
    case Kind::IntArray:
    case Kind::NumberArray:
    case Kind::StringArray:
    case Kind::IdArray: {
        if (!v.isArray() || v.toArray().size() > f.max)
            return refuse(QStringLiteral("\"%1\" must be a list of at most %2 items").arg(name).arg(f.max, 0, 'f', 0));
        for (const QJsonValue &item : v.toArray()) {
            const bool fine = f.kind == Kind::IntArray      ? isInteger(item, 0, kMaxId)
                              : f.kind == Kind::NumberArray ? item.isDouble() && std::isfinite(item.toDouble())
                              : f.kind == Kind::IdArray     ? isLeaseId(item)
                                                            : item.isString() && item.toString().size() <= kShortText;
            if (!fine)
                return refuse(QStringLiteral("\"%1\" holds an item of the wrong type").arg(name));
        }
        return {};
    }
    }
    return {};
}

} // namespace

qint64 Protocol::leaseId(const QJsonValue &v)
{
    const QString text = v.toString();
    if (text.isEmpty() || text.size() > 19)
        return 0;
    for (QChar c : text)
        if (c < QLatin1Char('0') || c > QLatin1Char('9'))
            return 0;
    bool ok = false;
    const qint64 id = text.toLongLong(&ok);
    return ok && id > 0 ? id : 0;
}

QJsonValue Protocol::leaseIdValue(qint64 id)
{
    return QString::number(id);
}

QString Protocol::roleName(Role role)
{
    switch (role) {
    case Role::None: return QStringLiteral("unauthenticated");
    case Role::Agent: return QStringLiteral("agent");
    case Role::Admin: return QStringLiteral("admin");
    }
    return {};
}

Result<void> Protocol::validate(const QJsonObject &m, Role role)
{
    const QJsonValue typeValue = m.value(QStringLiteral("type"));
    if (!typeValue.isString())
        return refuse(QStringLiteral("a message needs a \"type\" string"));
    const QString type = typeValue.toString();
    if (const QJsonValue id = m.value(QStringLiteral("id")); !id.isUndefined() && !isInteger(id, 0, kMaxId))
        return refuse(QStringLiteral("\"id\" must be a non-negative integer"));
    for (const Schema &s : kSchemas) {
        if (type != QLatin1StringView(s.type))
            continue;
        if (role == Role::None && s.role != Role::None)
            return refuse(QStringLiteral("say hello first (got %1)").arg(excerpt(type)));
        if (role != Role::None && s.role == Role::None)
            return refuse(QStringLiteral("hello was already said on this connection"));
        if (role != Role::None && s.role != role && !(type == QLatin1StringView("bye")))
            return refuse(QStringLiteral("%1 is not allowed for the %2 role").arg(type, roleName(role)));
        for (const Field &f : s.fields)
            if (auto ok = checkField(m, f); !ok)
                return ok;
        return {};
    }
    return refuse(QStringLiteral("unknown message type \"%1\"").arg(excerpt(type)));
}

Result<QJsonObject> Protocol::parse(const QByteArray &frame, Role role)
{
    if (frame.size() > kMaxMessageBytes)
        return Error{ErrorCategory::TooLarge, QStringLiteral("a message of %1 bytes is over the limit of %2").arg(frame.size()).arg(kMaxMessageBytes)};
    QJsonParseError parseError;
    const QJsonDocument doc = QJsonDocument::fromJson(frame, &parseError);
    if (parseError.error != QJsonParseError::NoError)
        return Error{ErrorCategory::Usage, QStringLiteral("not JSON: %1 at byte %2").arg(parseError.errorString()).arg(parseError.offset)};
    if (!doc.isObject())
        return Error{ErrorCategory::Usage, QStringLiteral("a message must be a JSON object")};
    QJsonObject m = doc.object();
    if (auto ok = validate(m, role); !ok)
        return ok.error();
    return m;
}

QByteArray Protocol::serialize(const QJsonObject &message)
{
    return QJsonDocument(message).toJson(QJsonDocument::Compact);
}

QJsonObject Protocol::error(const QString &code, const QString &message, const QJsonValue &id)
{
    QJsonObject e{{QStringLiteral("type"), QStringLiteral("error")}, {QStringLiteral("code"), code}, {QStringLiteral("message"), message}};
    if (!id.isUndefined() && !id.isNull())
        e.insert(QStringLiteral("id"), id);
    return e;
}

} // namespace SegScale::Cluster
