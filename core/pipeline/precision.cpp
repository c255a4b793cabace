#include "pipeline/precision.h"

namespace SegScale::Pipeline {

Result<Precision> parsePrecision(const QString &text)
{
    if (text == QLatin1StringView("fp32") || text == QLatin1StringView("float32"))
        return Precision::Float32;
    if (text == QLatin1StringView("fp16") || text == QLatin1StringView("float16") || text == QLatin1StringView("half"))
        return Precision::Float16;
    if (text == QLatin1StringView("bf16") || text == QLatin1StringView("bfloat16"))
        return Precision::BFloat16;
    return Error{ErrorCategory::Usage, QStringLiteral("--precision must be fp32, fp16 or bf16, not \"%1\"").arg(text)};
}

QString precisionName(Precision p)
{
    switch (p) {
    case Precision::Float16:
        return QStringLiteral("fp16");
    case Precision::BFloat16:
        return QStringLiteral("bf16");
    case Precision::Float32:
        break;
    }
    return QStringLiteral("fp32");
}

} // namespace SegScale::Pipeline
