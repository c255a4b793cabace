#include "base/error.h"

#include <array>
#include <utility>

namespace SegScale {

namespace {
constexpr std::array kNames = {
    std::pair{ErrorCategory::Missing, "missing"},         std::pair{ErrorCategory::Unreadable, "unreadable"},
    std::pair{ErrorCategory::Corrupt, "corrupt"},         std::pair{ErrorCategory::TooLarge, "too-large"},
    std::pair{ErrorCategory::Unsupported, "unsupported"}, std::pair{ErrorCategory::Storage, "storage"},
    std::pair{ErrorCategory::Model, "model"},             std::pair{ErrorCategory::Usage, "usage"},
    std::pair{ErrorCategory::Internal, "internal"},
};
} // namespace

QString categoryName(ErrorCategory category)
{
    for (const auto &[c, name] : kNames)
        if (c == category)
            return QLatin1StringView(name);
    return QStringLiteral("internal");
}

std::optional<ErrorCategory> categoryFromName(const QString &name)
{
    for (const auto &[c, n] : kNames)
        if (name == QLatin1StringView(n))
            return c;
    return std::nullopt;
}

bool isRetryable(ErrorCategory category)
{
    return category == ErrorCategory::Storage || category == ErrorCategory::Internal;
}

} // namespace SegScale
