#pragma once
// The inference options shared by `segment`, `study create`, `bench`: declared once,
// read once, defaults from the model card.

#include "base/result.h"
#include "pipeline/segmentoptions.h"

#include <QCommandLineParser>

#include <memory>

namespace SegScale::Model {
class Network;
}

namespace SegScale::Cli {

void addInferenceOptions(QCommandLineParser &parser);
// Starts from the card's defaults and applies what the user gave.
Result<Pipeline::SegmentOptions> readInferenceOptions(const QCommandLineParser &parser, const Model::ModelCard &card);
Result<QList<double>> parseScales(const QString &text);
Result<Pipeline::Precision> parsePrecision(const QString &text);
QString precisionName(Pipeline::Precision p);
QString describeOptions(const Pipeline::SegmentOptions &o);
// Loads the card's network on the options' device with their thread count.
Result<std::shared_ptr<const Model::Network>> loadNetwork(const Model::ModelCard &card, const Pipeline::SegmentOptions &o);

} // namespace SegScale::Cli
