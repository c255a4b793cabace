#pragma once
// NewStudyDialog: File > New study…. Where the study file goes; the model (a folder with
// model.json and its weights: picked from the standard places, the last one used, or
// browsed to) shown as its card — name, architecture, classes with their palette colours,
// defaults and fingerprint (hashed off the GUI thread); and the study's settings, filled
// from the card's defaults. Each bad value gets a message next to its field. Create runs
// Study::StudyCreator (what `segscale study create` runs) on a worker thread; studyCreated()
// then tells the window to open it.
//
// Tests drive it without exec(): set the fields, call create(), wait for the signals.

#include "model/modelcard.h"
#include "study/studycreator.h"

#include <QDialog>
#include <QFutureWatcher>
#include <QHash>

#include <optional>

class QCheckBox;
class QFormLayout;
class QComboBox;
class QLabel;
class QLineEdit;
class QPushButton;
class QTableView;

namespace SegScale::Ui {

class ModelClassesModel;

class NewStudyDialog final : public QDialog {
    Q_OBJECT
public:
    explicit NewStudyDialog(QWidget *parent = nullptr);
    ~NewStudyDialog() override;

    // Folders under the standard places that hold a model.json: /usr/share/segscale/models,
    // ~/.local/share/segscale/models, the `segscale model pull` cache, plus the last model
    // used (QSettings "newStudy/lastModel").
    static QStringList standardModelFolders();
    // Shows a dialog with `modelFolder` chosen non-modally, waits for its fingerprint,
    // saves it as a PNG; the path, or empty when it could not be written.
    static QString saveScreenshot(QWidget *parent, const QString &modelFolder, const QString &path);

    void setStudyPath(const QString &path);
    QString studyPath() const;
    // Loads the card (a small JSON file) now and starts hashing the weights; the settings
    // fields take the card's defaults.
    void setModelFolder(const QString &folder);
    QString modelFolder() const;
    const std::optional<Model::ModelCard> &card() const { return m_card; }
    // Why the model cannot be used; empty when the card loaded.
    QString modelError() const;
    // The fingerprint a study of this model records (empty until computed), and the
    // weights' SHA-256 as `segscale model` prints it.
    QString fingerprint() const { return m_fingerprint; }
    QString weightsSha256() const { return m_weightsSha; }
    bool isFingerprinting() const { return m_fingerprintWatcher.isRunning(); }
    ModelClassesModel *classesModel() const { return m_classes; }

    // Fields as text, as a user types them.
    void setScales(const QString &text);
    void setCrop(const QString &text);
    void setBaseSize(const QString &text);
    void setBatch(const QString &text);
    void setFlip(bool on);
    void setPrecision(const QString &word);
    void setDevice(const QString &device);
    QString device() const;

    // Checks every field; on failure each bad field shows its message and none is created.
    // The messages by field ("study", "model", "scales", "crop", "baseSize", "batch",
    // "device") for tests; empty when the field is fine.
    std::optional<Study::StudyCreator::Params> validate();
    QString fieldError(const QString &field) const;
    // Validates, then creates the study on a worker thread: studyCreated() or
    // creationFailed() follows (also when validation fails: false returned, no signal).
    bool create();
    bool isCreating() const { return m_createWatcher.isRunning(); }
    QString statusText() const;

Q_SIGNALS:
    void fingerprintComputed(const QString &fingerprint);
    void studyCreated(const QString &database);
    void creationFailed(const QString &message);

private:
    struct Hashes {
        QString fingerprint;
        QString weights;
        QString error;
    };
    struct Outcome {
        QString error;    // empty: created
        QString summary;  // what was recorded
    };
    QLabel *addField(QFormLayout *form, const QString &label, QWidget *field, const QString &key);
    void setFieldError(const QString &key, const QString &message);
    void showCard();
    void setStatus(const QString &text, bool error);

    QLineEdit *m_study;
    QComboBox *m_model;
    QLabel *m_modelError;
    QLabel *m_cardSummary;
    QLabel *m_fingerprintLabel;
    QTableView *m_classView;
    ModelClassesModel *m_classes;
    QLineEdit *m_scales;
    QLineEdit *m_crop;
    QLineEdit *m_baseSize;
    QLineEdit *m_batch;
    QCheckBox *m_flip;
    QComboBox *m_precision;
    QComboBox *m_device;
    QLabel *m_status;
    QPushButton *m_createButton;
    QHash<QString, QLabel *> m_errors;
    std::optional<Model::ModelCard> m_card;
    QString m_cardError;
    QString m_fingerprint;
    QString m_weightsSha;
    QFutureWatcher<Hashes> m_fingerprintWatcher;
    QFutureWatcher<Outcome> m_createWatcher;
    QString m_creating;
};

} // namespace SegScale::Ui
