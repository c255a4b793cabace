#pragma once
// The inference options shared by `segment`, `study create`, `bench`: declared once,
// read once, defaults from the model card.

#include "base/result.h"
#include "pipeline/precision.h"
#include "pipeline/segmentoptions.h"

#include <QCommandLineParser>

#include <initializer_list>
#include <memory>
#include <utility>

namespace SegScale::Model {
class Network;
}

namespace SegScale::Cli {

void addInferenceOptions(QCommandLineParser &parser);
// Starts from the card's defaults and applies what the user gave.
Result<Pipeline::SegmentOptions> readInferenceOptions(const QCommandLineParser &parser, const Model::ModelCard &card);
Result<QList<double>> parseScales(const QString &text);
// "6G", "1500M", "512MiB", "2000000000": bytes (K, M, G, T are powers of 1024).
Result<qint64> parseByteSize(const QString &text);
using Pipeline::parsePrecision;
using Pipeline::precisionName;
inline QString graphName(bool optimized) { return optimized ? QStringLiteral("optimized") : QStringLiteral("original"); }

// --name VALUE where VALUE is one of a few words: sets target, or says which words are valid.
template <typename T>
Result<void> readChoice(const QCommandLineParser &parser, const QString &name, std::initializer_list<std::pair<const char *, T>> choices,
                        T &target)
{
    if (!parser.isSet(name))
        return {};
    const QString value = parser.value(name);
    QStringList words;
    for (const auto &[word, choice] : choices) {
        if (value == QLatin1StringView(word)) {
            target = choice;
            return {};
        }
        words << QString::fromLatin1(word);
    }
    return Error{ErrorCategory::Usage, QStringLiteral("--%1 must be %2, not \"%3\"").arg(name, words.join(QStringLiteral(" or ")), value)};
}
QString describeOptions(const Pipeline::SegmentOptions &o);
// Loads the card's network on the options' device with their thread count.
Result<std::shared_ptr<const Model::Network>> loadNetwork(const Model::ModelCard &card, const Pipeline::SegmentOptions &o);

} // namespace SegScale::Cli
