#pragma once
// CheckRunner: segments a few images held in memory with a network and the study's
// options and returns their label maps as PNG bytes, exactly as OutputWriter writes
// them. `study checks` uses it to record a study's check images on a trusted machine,
// and every agent uses it to prove, before it takes work, that its driver, precision
// and build reproduce those labels (agreement() >= the study's minimum).

#include "base/result.h"
#include "jobs/jobtypes.h"
#include "pipeline/segmentoptions.h"

#include <QByteArray>
#include <QList>
#include <QString>

#include <memory>

namespace SegScale::Model {
class Network;
}

namespace SegScale::Agent {

class CheckRunner {
public:
    struct Input {
        QString name;
        QByteArray bytes;  // the encoded image
    };
    struct Output {
        QByteArray labelsPng;
        int width = 0;
        int height = 0;
    };

    // Runs the engine over inputs (in order); the first failure is the error.
    static Result<QList<Output>> segment(std::shared_ptr<const Model::Network> network, const Pipeline::SegmentOptions &options,
                                         const QList<Input> &inputs);
    // Fraction of pixels with the same class in two label PNGs; -1 when they cannot be
    // compared (undecodable, or of different sizes).
    static double agreement(const QByteArray &expectedPng, const QByteArray &actualPng);
    // Segments the study's check images and compares; a Model error names the first image
    // below its minimum agreement and both numbers.
    static Result<double> verify(std::shared_ptr<const Model::Network> network, const Pipeline::SegmentOptions &options,
                                 const QList<Jobs::CheckImage> &checks);
};

} // namespace SegScale::Agent
