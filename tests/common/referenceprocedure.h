#pragma once
// The official PSPNet test procedure, transcribed line for line for our tests: the data
// loader of hszhao/semseg util/dataset.py (SemData.__getitem__: cv2.imread, cvtColor,
// `image = np.float32(image)`) and tool/test.py (test, scale_process, net_process), with
// numpy's float64 accumulators. Each step names the line it stands for. It shares no code
// with the engine (no Preprocessor, Tiling or ImageCombiner), so a mistake there cannot
// hide here. Only the colour order differs: the official loader always converts to RGB;
// here the image is put in the card's order (a BGR card's network wants BGR), which is
// what ../shared/tools/official_semseg_run.py does by flipping inside a wrapper.

#include "model/network.h"

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include <torch/torch.h>

#include <cfenv>
#include <cmath>

namespace SegScale::Testing {

struct ReferenceSettings {
    std::vector<double> scales{1.0};
    int baseSize = 512;
    int crop = 473;  // crop_h = crop_w
    bool flip = true;
    double strideRate = 2.0 / 3.0;
};

namespace Reference {

inline long long pyRound(double v)
{
    std::fesetround(FE_TONEAREST);
    return static_cast<long long>(std::nearbyint(v));  // Python 3's round(): ties to even
}

// def net_process(model, image, mean, std=None, flip=True): HWC float32 in, HWC float32
// probabilities out (classes channels).
inline cv::Mat netProcess(const Model::Network &model, const cv::Mat &image, const Model::InputSpec &in, bool flip)
{
    c10::InferenceMode guard;
    // input = torch.from_numpy(image.transpose((2, 0, 1))).float()
    at::Tensor input = torch::from_blob(const_cast<float *>(image.ptr<float>()), {image.rows, image.cols, 3}, torch::kFloat)
                           .permute({2, 0, 1})
                           .clone();
    // for t, m, s in zip(input, mean, std): t.sub_(m).div_(s)
    for (int64_t c = 0; c < 3; ++c)
        input[c].sub_(static_cast<double>(in.mean[static_cast<size_t>(c)])).div_(static_cast<double>(in.std[static_cast<size_t>(c)]));
    // input = input.unsqueeze(0); if flip: input = torch.cat([input, input.flip(3)], 0)
    input = input.unsqueeze(0);
    if (flip)
        input = torch::cat({input, input.flip({3})}, 0);
    // with torch.no_grad(): output = model(input)
    at::Tensor output = model.forward(input.to(model.dtype()).to(model.device())).to(torch::kCPU).to(torch::kFloat);
    const int64_t hI = input.size(2), wI = input.size(3);
    // if (h_o != h_i) or (w_o != w_i): F.interpolate(..., mode='bilinear', align_corners=True)
    if (output.size(2) != hI || output.size(3) != wI)
        output = torch::nn::functional::interpolate(output, torch::nn::functional::InterpolateFuncOptions()
                                                                .size(std::vector<int64_t>{hI, wI})
                                                                .mode(torch::kBilinear)
                                                                .align_corners(true));
    // output = F.softmax(output, dim=1)
    output = torch::softmax(output, 1);
    // if flip: output = (output[0] + output[1].flip(2)) / 2 else output = output[0]
    output = flip ? (output[0] + output[1].flip({2})) / 2 : output[0];
    // output.data.cpu().numpy().transpose(1, 2, 0)
    output = output.permute({1, 2, 0}).contiguous();
    const int classes = static_cast<int>(output.size(2));
    return cv::Mat(static_cast<int>(hI), static_cast<int>(wI), CV_32FC(classes), output.data_ptr<float>()).clone();
}

// def scale_process(model, image, classes, crop_h, crop_w, h, w, mean, std, stride_rate)
// -> the level's float64 probabilities resized to h x w.
inline cv::Mat scaleProcess(const Model::Network &model, cv::Mat image, int classes, int crop, int h, int w,
                            const Model::InputSpec &in, const ReferenceSettings &s)
{
    // ori_h, ori_w, _ = image.shape; pad_h = max(crop_h - ori_h, 0); pad_h_half = int(pad_h / 2)
    const int oriH = image.rows, oriW = image.cols;
    const int padH = std::max(crop - oriH, 0), padW = std::max(crop - oriW, 0);
    const int padHHalf = padH / 2, padWHalf = padW / 2;
    // cv2.copyMakeBorder(image, ..., cv2.BORDER_CONSTANT, value=mean): image is float32
    if (padH > 0 || padW > 0)
        cv::copyMakeBorder(image, image, padHHalf, padH - padHHalf, padWHalf, padW - padWHalf, cv::BORDER_CONSTANT,
                           cv::Scalar(in.mean[0], in.mean[1], in.mean[2]));
    const int newH = image.rows, newW = image.cols;
    // stride_h = int(np.ceil(crop_h*stride_rate)); grid_h = int(np.ceil(float(new_h-crop_h)/stride_h) + 1)
    const int stride = static_cast<int>(std::ceil(crop * s.strideRate));
    const int gridH = static_cast<int>(std::ceil(double(newH - crop) / stride) + 1);
    const int gridW = static_cast<int>(std::ceil(double(newW - crop) / stride) + 1);
    // prediction_crop = np.zeros((new_h, new_w, classes), dtype=float); count_crop likewise
    cv::Mat predictionCrop = cv::Mat::zeros(newH, newW, CV_64FC(classes));
    cv::Mat countCrop = cv::Mat::zeros(newH, newW, CV_64F);
    for (int indexH = 0; indexH < gridH; ++indexH)
        for (int indexW = 0; indexW < gridW; ++indexW) {
            // s_h = index_h * stride_h; e_h = min(s_h + crop_h, new_h); s_h = e_h - crop_h
            const int eH = std::min(indexH * stride + crop, newH), sH = eH - crop;
            const int eW = std::min(indexW * stride + crop, newW), sW = eW - crop;
            const cv::Rect roi(sW, sH, crop, crop);
            // image_crop = image[s_h:e_h, s_w:e_w].copy(); count_crop[...] += 1
            const cv::Mat imageCrop = image(roi).clone();
            countCrop(roi) += 1.0;
            // prediction_crop[s_h:e_h, s_w:e_w, :] += net_process(...): float32 added to float64
            cv::Mat probs64;
            netProcess(model, imageCrop, in, s.flip).convertTo(probs64, CV_64F);
            cv::Mat target = predictionCrop(roi);
            cv::add(target, probs64, target);
        }
    // prediction_crop /= np.expand_dims(count_crop, 2): a true division per element
    for (int y = 0; y < newH; ++y) {
        double *p = predictionCrop.ptr<double>(y);
        const double *c = countCrop.ptr<double>(y);
        for (int x = 0; x < newW; ++x)
            for (int k = 0; k < classes; ++k)
                p[size_t(x) * size_t(classes) + size_t(k)] /= c[x];
    }
    // prediction_crop = prediction_crop[pad_h_half:pad_h_half+ori_h, pad_w_half:pad_w_half+ori_w]
    const cv::Mat cropped = predictionCrop(cv::Rect(padWHalf, padHHalf, oriW, oriH)).clone();
    // prediction = cv2.resize(prediction_crop, (w, h), interpolation=cv2.INTER_LINEAR)
    cv::Mat prediction;
    cv::resize(cropped, prediction, cv::Size(w, h), 0, 0, cv::INTER_LINEAR);
    return prediction;
}

} // namespace Reference

// bgr: the decoded 8-bit photo (cv2.imread). Returns the label map (CV_16U), as test.py's
// np.argmax over the float64 prediction.
inline cv::Mat referenceLabels(const Model::Network &model, const cv::Mat &bgr, const ReferenceSettings &s)
{
    const Model::ModelCard &card = model.card();
    // image = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)  (the card's order; see the header)
    cv::Mat ordered;  // a new matrix: the caller's photo stays as it is
    if (card.input.colorOrder == Model::ColorOrder::RGB)
        cv::cvtColor(bgr, ordered, cv::COLOR_BGR2RGB);
    else
        ordered = bgr;
    // image = np.float32(image)
    cv::Mat image;
    ordered.convertTo(image, CV_32F);
    // h, w, _ = image.shape; prediction = np.zeros((h, w, classes), dtype=float)
    const int h = image.rows, w = image.cols, classes = card.numClasses;
    cv::Mat prediction = cv::Mat::zeros(h, w, CV_64FC(classes));
    for (double scale : s.scales) {
        // long_size = round(scale * base_size); new_h = long_size; new_w = long_size
        const long long longSize = Reference::pyRound(scale * s.baseSize);
        long long newH = longSize, newW = longSize;
        // if h > w: new_w = round(long_size/float(h)*w) else: new_h = round(long_size/float(w)*h)
        if (h > w)
            newW = Reference::pyRound(double(longSize) / double(h) * w);
        else
            newH = Reference::pyRound(double(longSize) / double(w) * h);
        // image_scale = cv2.resize(image, (new_w, new_h), interpolation=cv2.INTER_LINEAR)
        cv::Mat imageScale;
        cv::resize(image, imageScale, cv::Size(int(newW), int(newH)), 0, 0, cv::INTER_LINEAR);
        // prediction += scale_process(model, image_scale, classes, crop_h, crop_w, h, w, mean, std)
        const cv::Mat p = Reference::scaleProcess(model, imageScale, classes, s.crop, h, w, card.input, s);
        cv::add(prediction, p, prediction);
    }
    // prediction /= len(scales): a true division (numpy), not a multiplication by 1/n
    const double n = double(s.scales.size());
    for (int y = 0; y < h; ++y) {
        double *p = prediction.ptr<double>(y);
        for (size_t i = 0; i < size_t(w) * size_t(classes); ++i)
            p[i] /= n;
    }
    // prediction = np.argmax(prediction, axis=2): the first maximal class
    cv::Mat labels(h, w, CV_16U);
    for (int y = 0; y < h; ++y) {
        const double *p = prediction.ptr<double>(y);
        for (int x = 0; x < w; ++x) {
            const double *px = p + size_t(x) * size_t(classes);
            labels.at<std::uint16_t>(y, x) = static_cast<std::uint16_t>(std::max_element(px, px + classes) - px);
        }
    }
    return labels;
}

} // namespace SegScale::Testing
