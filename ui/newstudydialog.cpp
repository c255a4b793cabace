#include "ui/newstudydialog.h"

#include "model/modelregistry.h"
#include "model/weightsfile.h"
#include "pipeline/precision.h"
#include "pipeline/segmentoptions.h"
#include "ui/modelclassesmodel.h"

#include <QCheckBox>
#include <QComboBox>
#include <QCoreApplication>
#include <QElapsedTimer>
#include <QDialogButtonBox>
#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QRegularExpression>
#include <QSettings>
#include <QStandardPaths>
#include <QTableView>
#include <QVBoxLayout>
#include <QtConcurrent/QtConcurrentRun>

namespace SegScale::Ui {

namespace {

const QString kLastModel = QStringLiteral("newStudy/lastModel");
const QString kLastStudyDir = QStringLiteral("lastStudyDir");
const QString kDevice = QStringLiteral("newStudy/device");

QString numberList(const QList<double> &values)
{
    return Pipeline::scalesText(values);
}

} // namespace

NewStudyDialog::NewStudyDialog(QWidget *parent) : QDialog(parent), m_classes(new ModelClassesModel(this))
{
    setWindowTitle(tr("New study"));
    QSettings settings;
    auto *layout = new QVBoxLayout(this);

    auto *where = new QFormLayout;
    m_study = new QLineEdit(this);
    m_study->setPlaceholderText(tr("/path/to/study.db"));
    auto *browseStudy = new QPushButton(tr("&Browse…"), this);
    connect(browseStudy, &QPushButton::clicked, this, [this] {
        QSettings s;
        const QString f = QFileDialog::getSaveFileName(this, tr("New study file"), s.value(kLastStudyDir).toString(),
                                                       tr("SegScale studies (*.db)"));
        if (!f.isEmpty())
            setStudyPath(f.endsWith(QLatin1StringView(".db")) ? f : f + QStringLiteral(".db"));
    });
    auto *studyRow = new QHBoxLayout;
    studyRow->addWidget(m_study, 1);
    studyRow->addWidget(browseStudy);
    auto *studyBox = new QWidget(this);
    studyBox->setLayout(studyRow);
    studyRow->setContentsMargins(0, 0, 0, 0);
    addField(where, tr("Study &file:"), studyBox, QStringLiteral("study"));

    m_model = new QComboBox(this);
    m_model->setEditable(true);
    m_model->setInsertPolicy(QComboBox::NoInsert);
    m_model->addItems(standardModelFolders());
    m_model->setCurrentIndex(-1);
    m_model->lineEdit()->setPlaceholderText(tr("a folder with model.json and its weights"));
    auto *browseModel = new QPushButton(tr("B&rowse…"), this);
    connect(browseModel, &QPushButton::clicked, this, [this] {
        const QString d = QFileDialog::getExistingDirectory(this, tr("Model folder"), modelFolder());
        if (!d.isEmpty())
            setModelFolder(d);
    });
    connect(m_model, &QComboBox::textActivated, this, &NewStudyDialog::setModelFolder);
    connect(m_model->lineEdit(), &QLineEdit::editingFinished, this, [this] {
        if (m_model->currentText() != (m_card ? m_card->directory : QString()))
            setModelFolder(m_model->currentText());
    });
    auto *modelRow = new QHBoxLayout;
    modelRow->setContentsMargins(0, 0, 0, 0);
    modelRow->addWidget(m_model, 1);
    modelRow->addWidget(browseModel);
    auto *modelBox = new QWidget(this);
    modelBox->setLayout(modelRow);
    m_modelError = addField(where, tr("&Model:"), modelBox, QStringLiteral("model"));
    layout->addLayout(where);

    // The card: what the model is, before anything is created with it.
    m_cardSummary = new QLabel(tr("No model chosen."), this);
    m_cardSummary->setWordWrap(true);
    m_cardSummary->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_fingerprintLabel = new QLabel(this);
    m_fingerprintLabel->setWordWrap(true);
    m_fingerprintLabel->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_classView = new QTableView(this);
    m_classView->setModel(m_classes);
    m_classView->verticalHeader()->hide();
    m_classView->horizontalHeader()->setStretchLastSection(false);
    m_classView->setSelectionMode(QAbstractItemView::NoSelection);
    m_classView->setMinimumHeight(160);
    m_classView->verticalHeader()->setDefaultSectionSize(m_classView->fontMetrics().height() + 6);
    m_classView->horizontalHeader()->setSectionResizeMode(ModelClassesModel::IndexColumn, QHeaderView::ResizeToContents);
    m_classView->horizontalHeader()->setSectionResizeMode(ModelClassesModel::NameColumn, QHeaderView::Stretch);
    m_classView->horizontalHeader()->setSectionResizeMode(ModelClassesModel::ColourColumn, QHeaderView::ResizeToContents);
    m_classView->setShowGrid(false);
    m_classView->setAlternatingRowColors(true);
    auto *cardBox = new QGroupBox(tr("Model card"), this);
    auto *cardLayout = new QVBoxLayout(cardBox);
    cardLayout->addWidget(m_cardSummary);
    cardLayout->addWidget(m_fingerprintLabel);
    cardLayout->addWidget(m_classView, 1);
    layout->addWidget(cardBox, 1);

    auto *settingsBox = new QGroupBox(tr("Settings every image is segmented with (from the card's defaults)"), this);
    auto *form = new QFormLayout(settingsBox);
    m_scales = new QLineEdit(this);
    m_scales->setPlaceholderText(QStringLiteral("0.5,0.75,1,1.25"));
    addField(form, tr("&Scales:"), m_scales, QStringLiteral("scales"));
    m_baseSize = new QLineEdit(this);
    addField(form, tr("Base si&ze:"), m_baseSize, QStringLiteral("baseSize"));
    m_crop = new QLineEdit(this);
    addField(form, tr("&Crop:"), m_crop, QStringLiteral("crop"));
    m_flip = new QCheckBox(tr("Average with the horizontal &flip"), this);
    form->addRow(QString(), m_flip);
    m_precision = new QComboBox(this);
    m_precision->addItems({QStringLiteral("fp32"), QStringLiteral("fp16"), QStringLiteral("bf16")});
    m_precision->setToolTip(tr("The network's arithmetic for every image of the study (fp16 needs CUDA agents). "
                               "Results of two precisions are never mixed."));
    form->addRow(tr("&Precision:"), m_precision);
    m_device = new QComboBox(this);
    m_device->setEditable(true);
    m_device->addItems({QStringLiteral("cpu"), QStringLiteral("cuda"), QStringLiteral("cuda:0"), QStringLiteral("cuda:1")});
    m_device->setCurrentText(settings.value(kDevice, QStringLiteral("cpu")).toString());
    m_device->setToolTip(tr("Remembered as this app's choice of device (cpu, cuda, cuda:N). It is not part of the "
                            "study's settings: each agent runs on the device it is started with "
                            "(segscale agent --device)."));
    addField(form, tr("&Device:"), m_device, QStringLiteral("device"));
    m_batch = new QLineEdit(QStringLiteral("1"), this);
    addField(form, tr("&Batch (windows):"), m_batch, QStringLiteral("batch"));
    layout->addWidget(settingsBox);

    m_status = new QLabel(this);
    m_status->setWordWrap(true);
    layout->addWidget(m_status);
    auto *buttons = new QDialogButtonBox(QDialogButtonBox::Cancel, this);
    m_createButton = buttons->addButton(tr("C&reate"), QDialogButtonBox::AcceptRole);
    connect(buttons, &QDialogButtonBox::accepted, this, [this] { create(); });
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    layout->addWidget(buttons);

    connect(&m_fingerprintWatcher, &QFutureWatcher<Hashes>::finished, this, [this] {
        const Hashes h = m_fingerprintWatcher.result();
        if (!m_card || h.fingerprint.isEmpty()) {
            m_fingerprintLabel->setText(h.error.isEmpty() ? QString() : tr("<span style='color:#c00000'>%1</span>").arg(h.error.toHtmlEscaped()));
            return;
        }
        m_fingerprint = h.fingerprint;
        m_weightsSha = h.weights;
        m_fingerprintLabel->setText(tr("Fingerprint: <tt>%1</tt><br>Weights SHA-256: <tt>%2</tt>").arg(h.fingerprint, h.weights));
        Q_EMIT fingerprintComputed(m_fingerprint);
    });
    connect(&m_createWatcher, &QFutureWatcher<Outcome>::finished, this, [this] {
        const Outcome o = m_createWatcher.result();
        m_createButton->setEnabled(true);
        if (!o.error.isEmpty()) {
            setStatus(o.error, true);
            Q_EMIT creationFailed(o.error);
            return;
        }
        setStatus(o.summary, false);
        QSettings s;
        s.setValue(kLastModel, modelFolder());
        s.setValue(kLastStudyDir, QFileInfo(m_creating).absolutePath());
        s.setValue(kDevice, device());
        Q_EMIT studyCreated(m_creating);
        accept();
    });
    setMinimumSize(640, 720);
}

NewStudyDialog::~NewStudyDialog()
{
    // Both jobs end on their own (hashing a file, creating a database); the results are
    // simply not wanted any more.
    m_fingerprintWatcher.waitForFinished();
    m_createWatcher.waitForFinished();
}

QStringList NewStudyDialog::standardModelFolders()
{
    QStringList roots{QStringLiteral("/usr/share/segscale/models"),
                      QDir::homePath() + QStringLiteral("/.local/share/segscale/models"),
                      Model::ModelRegistry::cacheRoot()};
    QStringList found;
    const QString last = QSettings().value(kLastModel).toString();
    if (!last.isEmpty() && QFileInfo::exists(QDir(last).filePath(QStringLiteral("model.json"))))
        found << QDir(last).absolutePath();
    for (const QString &root : roots) {
        const QDir dir(root);
        for (const QString &sub : dir.entryList(QDir::Dirs | QDir::NoDotAndDotDot, QDir::Name)) {
            const QString folder = dir.absoluteFilePath(sub);
            if (QFileInfo::exists(QDir(folder).filePath(QStringLiteral("model.json"))) && !found.contains(folder))
                found << folder;
        }
    }
    return found;
}

QString NewStudyDialog::saveScreenshot(QWidget *parent, const QString &modelFolder, const QString &path)
{
    NewStudyDialog dialog(parent);
    dialog.setStudyPath(QDir::home().filePath(QStringLiteral("studies/streets-2024.db")));
    if (!modelFolder.isEmpty())
        dialog.setModelFolder(modelFolder);
    dialog.resize(760, 860);
    dialog.show();
    QElapsedTimer waited;
    waited.start();
    while (dialog.isFingerprinting() && waited.elapsed() < 10000)
        QCoreApplication::processEvents(QEventLoop::AllEvents, 50);
    QCoreApplication::processEvents();
    const bool saved = dialog.grab().save(path);
    dialog.hide();
    return saved ? path : QString();
}

QLabel *NewStudyDialog::addField(QFormLayout *form, const QString &label, QWidget *field, const QString &key)
{
    auto *box = new QVBoxLayout;
    box->setContentsMargins(0, 0, 0, 0);
    box->setSpacing(2);
    box->addWidget(field);
    auto *error = new QLabel(this);
    error->setWordWrap(true);
    error->setStyleSheet(QStringLiteral("color: #c00000"));
    error->hide();
    box->addWidget(error);
    form->addRow(label, box);
    if (auto *buddy = qobject_cast<QLabel *>(form->labelForField(box)))
        buddy->setBuddy(field);
    m_errors.insert(key, error);
    return error;
}

void NewStudyDialog::setFieldError(const QString &key, const QString &message)
{
    QLabel *label = m_errors.value(key);
    if (!label)
        return;
    label->setText(message);
    label->setVisible(!message.isEmpty());
}

QString NewStudyDialog::fieldError(const QString &field) const
{
    const QLabel *label = m_errors.value(field);
    return label ? label->text() : QString();
}

void NewStudyDialog::setStudyPath(const QString &path)
{
    m_study->setText(path);
}

QString NewStudyDialog::studyPath() const
{
    return m_study->text().trimmed();
}

QString NewStudyDialog::modelFolder() const
{
    return m_model->currentText().trimmed();
}

QString NewStudyDialog::modelError() const
{
    return m_cardError;
}

void NewStudyDialog::setModelFolder(const QString &folder)
{
    m_model->setCurrentText(folder);
    m_card.reset();
    m_cardError.clear();
    m_fingerprint.clear();
    m_weightsSha.clear();
    m_classes->clear();
    m_fingerprintLabel->clear();
    const QString path = folder.trimmed();
    if (path.isEmpty()) {
        m_cardError = tr("choose a model folder (model.json and its weights)");
    } else if (!QFileInfo::exists(Model::ModelRegistry::resolveModelPath(path))) {
        m_cardError = tr("%1 does not exist").arg(path);
    } else {
        auto card = Model::ModelCard::load(Model::ModelRegistry::resolveModelPath(path));
        if (card)
            m_card = *card;
        else
            m_cardError = card.error().message;
    }
    setFieldError(QStringLiteral("model"), m_cardError);
    showCard();
    if (!m_card)
        return;
    const Model::InferenceDefaults &d = m_card->defaults;
    setScales(numberList(d.scales));
    setBaseSize(QString::number(d.baseSize));
    setCrop(QString::number(d.crop));
    setFlip(d.flip);
    // Hashing reads every byte of the weights (hundreds of MB for a PSPNet): a worker's job.
    m_fingerprintLabel->setText(tr("Fingerprint: computing…"));
    const Model::ModelCard card = *m_card;
    m_fingerprintWatcher.setFuture(QtConcurrent::run([card] {
        Hashes h;
        auto fingerprint = card.fingerprint();
        if (!fingerprint) {
            h.error = fingerprint.error().message;
            return h;
        }
        h.fingerprint = QString::fromLatin1(*fingerprint);
        if (!card.randomInit) {
            auto sha = Model::WeightsFile::sha256OfFile(card.weightsPath());
            h.weights = sha ? QString::fromLatin1(*sha) : sha.error().message;
        }
        return h;
    }));
}

void NewStudyDialog::showCard()
{
    if (!m_card) {
        m_cardSummary->setText(m_cardError.isEmpty() ? tr("No model chosen.") : tr("No model: %1").arg(m_cardError));
        return;
    }
    const Model::ModelCard &c = *m_card;
    const Model::InferenceDefaults &d = c.defaults;
    m_classes->setClasses(c.classes, c.palette);
    m_cardSummary->setText(tr("<b>%1</b> — %2, %3 classes, input %4<br>"
                              "Defaults: scales %5, base size %6, crop %7, flip %8<br>Folder: %9")
                               .arg(c.name.toHtmlEscaped(), c.architecture.toHtmlEscaped(), QString::number(c.classes.size()),
                                    c.input.colorOrder == Model::ColorOrder::BGR ? QStringLiteral("BGR") : QStringLiteral("RGB"),
                                    numberList(d.scales))
                               .arg(d.baseSize)
                               .arg(d.crop)
                               .arg(d.flip ? tr("on") : tr("off"), c.directory.toHtmlEscaped()));
}

void NewStudyDialog::setScales(const QString &text) { m_scales->setText(text); }
void NewStudyDialog::setCrop(const QString &text) { m_crop->setText(text); }
void NewStudyDialog::setBaseSize(const QString &text) { m_baseSize->setText(text); }
void NewStudyDialog::setBatch(const QString &text) { m_batch->setText(text); }
void NewStudyDialog::setFlip(bool on) { m_flip->setChecked(on); }
void NewStudyDialog::setPrecision(const QString &word) { m_precision->setCurrentText(word); }
void NewStudyDialog::setDevice(const QString &device) { m_device->setCurrentText(device); }
QString NewStudyDialog::device() const { return m_device->currentText().trimmed(); }

std::optional<Study::StudyCreator::Params> NewStudyDialog::validate()
{
    Study::StudyCreator::Params p;
    bool ok = true;
    auto check = [&](const QString &key, const QString &message) {
        setFieldError(key, message);
        ok = ok && message.isEmpty();
    };

    const QString study = studyPath();
    QString studyError;
    if (study.isEmpty())
        studyError = tr("Choose where the study file goes.");
    else if (QFileInfo::exists(study))
        studyError = tr("%1 already exists; a study is created once (choose another file name).").arg(study);
    else if (!QFileInfo(QFileInfo(study).absolutePath()).isDir())
        studyError = tr("The folder %1 does not exist.").arg(QFileInfo(study).absolutePath());
    check(QStringLiteral("study"), studyError);
    p.database = study;

    if (!m_card && m_cardError.isEmpty())
        m_cardError = tr("choose a model folder (model.json and its weights)");
    check(QStringLiteral("model"), m_card ? QString() : m_cardError);
    p.model = m_card ? m_card->directory : modelFolder();

    QString scalesError;
    QList<double> scales;
    for (const QString &part : m_scales->text().split(QLatin1Char(','), Qt::SkipEmptyParts)) {
        bool isNumber = false;
        const double v = part.trimmed().toDouble(&isNumber);
        if (!isNumber || v <= 0 || v > 16) {
            scalesError = tr("\"%1\" is not a scale: each one is a positive number up to 16, such as 0.75.").arg(part.trimmed());
            break;
        }
        scales.append(v);
    }
    if (scalesError.isEmpty() && scales.isEmpty())
        scalesError = tr("Give at least one scale, such as 1 or 0.5,0.75,1.");
    check(QStringLiteral("scales"), scalesError);
    p.scales = scales;

    auto positive = [&](QLineEdit *edit, const QString &key, const QString &what, std::optional<int> *target) {
        bool isNumber = false;
        const int v = edit->text().trimmed().toInt(&isNumber);
        if (!isNumber || v < 1) {
            check(key, tr("%1 is a whole number of at least 1, not \"%2\".").arg(what, edit->text().trimmed()));
            return;
        }
        check(key, QString());
        *target = v;
    };
    positive(m_baseSize, QStringLiteral("baseSize"), tr("The base size"), &p.baseSize);
    positive(m_crop, QStringLiteral("crop"), tr("The crop"), &p.crop);
    positive(m_batch, QStringLiteral("batch"), tr("The batch"), &p.batch);
    p.flip = m_flip->isChecked();
    p.precision = m_precision->currentText();

    static const QRegularExpression deviceWord(QStringLiteral("^(cpu|cuda(:\\d+)?)$"));
    check(QStringLiteral("device"), deviceWord.match(device()).hasMatch()
                                        ? QString()
                                        : tr("\"%1\" is not a device: cpu, cuda or cuda:N.").arg(device()));
    if (!ok) {
        setStatus(tr("Fix the fields marked in red; nothing was created."), true);
        return std::nullopt;
    }
    // The service's own checks (precision words, the card), so a message never waits for
    // the worker when it need not.
    if (auto settings = Study::StudyCreator::settingsFor(*m_card, p); !settings) {
        setStatus(settings.error().message, true);
        return std::nullopt;
    }
    return p;
}

bool NewStudyDialog::create()
{
    if (isCreating())
        return false;
    auto params = validate();
    if (!params)
        return false;
    m_creating = params->database;
    m_createButton->setEnabled(false);
    setStatus(tr("Creating %1 (fingerprinting the weights)…").arg(m_creating), false);
    m_createWatcher.setFuture(QtConcurrent::run([p = *params] {
        Outcome o;
        auto created = Study::StudyCreator::create(p);
        if (!created) {
            o.error = created.error().message;
            return o;
        }
        const Jobs::StudySettings &s = created->settings;
        o.summary = QStringLiteral("Created %1: %2, scales %3, base size %4, crop %5, flip %6, batch %7, %8.")
                        .arg(p.database, created->card.name, Pipeline::scalesText(s.scales))
                        .arg(s.baseSize)
                        .arg(s.crop)
                        .arg(s.flip ? QStringLiteral("on") : QStringLiteral("off"))
                        .arg(s.batch)
                        .arg(s.precision);
        return o;
    }));
    return true;
}

QString NewStudyDialog::statusText() const
{
    return m_status->text();
}

void NewStudyDialog::setStatus(const QString &text, bool error)
{
    m_status->setText(text);
    m_status->setStyleSheet(error ? QStringLiteral("color: #c00000") : QString());
}

} // namespace SegScale::Ui
