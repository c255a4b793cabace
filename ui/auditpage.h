#pragma once
// AuditPage: the Audit tab. The researcher draws a sample of finished images (random with
// a seed, k per dataset, or the k highest and k lowest shares of a class), looks at each
// with its overlay and marks it accepted (A) or flagged (F) with a note; the marks live in
// the study database (audit-mark), and the quality rate per dataset is shown below. All
// through the coordinator: nothing here reads the study.
//
// The picture: by default a QLabel showing the overlay (or the photo) when this machine
// can read the file, else a placeholder; setImageViewer() puts another viewer there (the
// Results slice's QGraphicsView viewer) and gets every selected row to show.

#include <QJsonObject>
#include <QStringList>
#include <QWidget>

#include <functional>

class QAction;
class QComboBox;
class QLabel;
class QLineEdit;
class QPushButton;
class QSpinBox;
class QStackedLayout;
class QTableView;

namespace SegScale::Ui {

class AuditQualityModel;
class AuditSampleModel;
class StudyConnection;

class AuditPage final : public QWidget {
    Q_OBJECT
public:
    // Gets the selected sample row (image, dataset, location, label, overlay, share, mark);
    // an empty object when nothing is selected.
    using ImageShower = std::function<void(const QJsonObject &row)>;

    explicit AuditPage(StudyConnection *connection, QWidget *parent = nullptr);

    // The study's class names (from the summary), for the extremes mode.
    void setClasses(const QStringList &classes);
    void setImageViewer(QWidget *viewer, ImageShower show);

    // mode: "random", "per-dataset" or "extremes"; sets the controls and asks.
    void drawSample(const QString &mode, int k, qint64 seed, int classIndex = 0);
    void draw();
    // Marks the selected image with the note field's text, then selects the next one.
    void accept();
    void flag();
    void clearMark();
    // The per-dataset table; countFinished false re-reads the marks only (after a mark:
    // counting a million finished images each time would hold up the coordinator).
    void reloadSummary(bool countFinished = true);
    void clear();

    AuditSampleModel *sampleModel() const { return m_sample; }
    AuditQualityModel *qualityModel() const { return m_quality; }
    QTableView *sampleView() const { return m_sampleView; }
    QLineEdit *noteEdit() const { return m_note; }
    QSpinBox *seedBox() const { return m_seed; }
    QAction *acceptAction() const { return m_accept; }
    QAction *flagAction() const { return m_flag; }

Q_SIGNALS:
    void sampleDrawn(int rows);
    void marked(qint64 image);
    void summaryLoaded();
    void statusMessage(const QString &message);

private:
    void mark(const QString &verdict);
    void showSelected();
    void updateActions();
    void showInLabel(const QJsonObject &row);

    StudyConnection *m_connection;
    AuditSampleModel *m_sample;
    AuditQualityModel *m_quality;
    QComboBox *m_mode;
    QComboBox *m_class;
    QSpinBox *m_k;
    QSpinBox *m_seed;
    QPushButton *m_draw;
    QLabel *m_progress;
    QTableView *m_sampleView;
    QTableView *m_qualityView;
    QStackedLayout *m_imageStack;
    QLabel *m_picture;
    QLabel *m_caption;
    QLineEdit *m_note;
    QAction *m_accept;
    QAction *m_flag;
    QAction *m_clear;
    ImageShower m_show;
    QString m_drawnClass;  // the class of the extremes sample shown
    QString m_savedClass;  // the class of the last session, chosen once the classes are known
    bool m_drawing = false;
};

} // namespace SegScale::Ui
