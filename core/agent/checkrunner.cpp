#include "agent/checkrunner.h"

#include "model/network.h"
#include "pipeline/engine.h"
#include "pipeline/outputwriter.h"

#include <opencv2/imgcodecs.hpp>

#include <QFile>
#include <QTemporaryDir>

#include <map>

namespace SegScale::Agent {
namespace {

class MemorySource final : public Pipeline::ImageSource {
public:
    explicit MemorySource(const QList<CheckRunner::Input> &inputs) : m_inputs(inputs) {}
    std::optional<Pipeline::ImageTask> next() override
    {
        if (m_next >= m_inputs.size())
            return std::nullopt;
        const qsizetype i = m_next++;
        Pipeline::ImageTask task;
        task.id = i;
        task.name = m_inputs[i].name;
        task.outputStem = QStringLiteral("check-%1").arg(i);
        task.fetch = [bytes = m_inputs[i].bytes]() -> Result<QByteArray> { return bytes; };
        return task;
    }

private:
    const QList<CheckRunner::Input> &m_inputs;
    qsizetype m_next = 0;
};

class Collect final : public Pipeline::ResultSink {
public:
    void imageDone(const Pipeline::ImageResult &r) override { done[r.task.id] = r.labelPath; }
    void imageFailed(const Pipeline::ImageTask &task, const Error &error) override
    {
        if (!failure)
            failure = Error{error.category, task.name + QStringLiteral(": ") + error.message};
    }
    std::map<qint64, QString> done;
    std::optional<Error> failure;
};

cv::Mat decodeLabels(const QByteArray &png)
{
    if (png.isEmpty())
        return {};
    const cv::Mat raw(1, static_cast<int>(png.size()), CV_8UC1, const_cast<char *>(png.constData()));
    return cv::imdecode(raw, cv::IMREAD_UNCHANGED);
}

} // namespace

Result<QList<CheckRunner::Output>> CheckRunner::segment(std::shared_ptr<const Model::Network> network, const Pipeline::SegmentOptions &options,
                                                        const QList<Input> &inputs)
{
    QTemporaryDir dir;
    if (!dir.isValid())
        return Error{ErrorCategory::Unreadable, QStringLiteral("cannot create a temporary folder for the check images")};
    Pipeline::SegmentOptions o = options;
    o.overlays = false;
    Pipeline::OutputWriter writer(dir.path(), network->card().palette, false, network->untrained());
    if (auto r = writer.prepare(); !r)
        return r.error();
    Pipeline::Engine engine(network, o, &writer);
    MemorySource source(inputs);
    Collect sink;
    engine.run(source, sink);
    if (sink.failure)
        return *sink.failure;
    QList<Output> out;
    for (qsizetype i = 0; i < inputs.size(); ++i) {
        const auto it = sink.done.find(i);
        if (it == sink.done.end())
            return Error{ErrorCategory::Internal, QStringLiteral("%1 was not segmented").arg(inputs[i].name)};
        QFile f(dir.filePath(it->second));
        if (!f.open(QIODevice::ReadOnly))
            return Error{ErrorCategory::Unreadable, QStringLiteral("cannot read the label map of %1").arg(inputs[i].name)};
        Output o2;
        o2.labelsPng = f.readAll();
        const cv::Mat labels = decodeLabels(o2.labelsPng);
        o2.width = labels.cols;
        o2.height = labels.rows;
        out.append(std::move(o2));
    }
    return out;
}

double CheckRunner::agreement(const QByteArray &expectedPng, const QByteArray &actualPng)
{
    const cv::Mat a = decodeLabels(expectedPng);
    const cv::Mat b = decodeLabels(actualPng);
    if (a.empty() || b.empty() || a.size() != b.size() || a.type() != b.type())
        return -1;
    cv::Mat diff;
    cv::compare(a, b, diff, cv::CMP_EQ);
    return static_cast<double>(cv::countNonZero(diff)) / static_cast<double>(a.total());
}

Result<double> CheckRunner::verify(std::shared_ptr<const Model::Network> network, const Pipeline::SegmentOptions &options,
                                   const QList<Jobs::CheckImage> &checks)
{
    QList<Input> inputs;
    for (const auto &c : checks)
        inputs.append(Input{c.location, c.image});
    auto outputs = segment(std::move(network), options, inputs);
    if (!outputs)
        return outputs.error();
    double worst = 1.0;
    for (qsizetype i = 0; i < checks.size(); ++i) {
        const double a = agreement(checks[i].labelsPng, outputs->at(i).labelsPng);
        worst = std::min(worst, a);
        if (a < checks[i].minAgreement)
            return Error{ErrorCategory::Model,
                         QStringLiteral("check image %1: %2 of its pixels have the study's labels, %3 are needed: this machine's "
                                        "driver, precision or build does not reproduce the study's results")
                             .arg(checks[i].location)
                             .arg(a < 0 ? QStringLiteral("none (the label map differs in size)") : QStringLiteral("%1%").arg(100.0 * a, 0, 'f', 3))
                             .arg(QStringLiteral("%1%").arg(100.0 * checks[i].minAgreement, 0, 'f', 3))};
    }
    return worst;
}

} // namespace SegScale::Agent
