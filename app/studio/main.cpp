// segscale-studio: the desktop app. Parses the command line, opens the window and, when
// asked, a study (embedded) or a `segscale serve` (remote). --screenshot DIR saves each tab
// as a PNG once the first progress and workers arrived, then quits (docs, tests/ui).

#include "ui/auditpage.h"
#include "ui/darkpalette.h"
#include "ui/errorsmodel.h"
#include "ui/mainwindow.h"
#include "ui/imageviewer.h"
#include "ui/resultsmodel.h"
#include "ui/resultspage.h"
#include "ui/studyconnection.h"

#include <QApplication>
#include <QTableView>
#include <QCommandLineParser>
#include <QFileInfo>
#include <QTextStream>
#include <QTimer>
#include <QUrl>

#include <memory>

using SegScale::Ui::ImageViewer;
using SegScale::Ui::KeysetTableModel;
using SegScale::Ui::AuditPage;
using SegScale::Ui::MainWindow;
using SegScale::Ui::StudyConnection;

namespace {

// The options, for the window and for --help/--version (which need no display).
void describe(QCommandLineParser &parser)
{
    parser.setApplicationDescription(QStringLiteral(
        "SegScale Studio: create a study, run it on agents here, over SSH or on Slurm, and watch, check and export it.\n"
        "  segscale-studio STUDY.db                      open a study here (embedded coordinator)\n"
        "  segscale-studio --connect ws://HOST:PORT --admin-token-file F   attach to `segscale serve`"));
    parser.addHelpOption();
    parser.addVersionOption();
    parser.addOptions({
        {QStringLiteral("connect"), QStringLiteral("Attach to `segscale serve` at ws[s]://HOST:PORT."), QStringLiteral("URL")},
        {QStringLiteral("admin-token-file"), QStringLiteral("The admin token for --connect (serve --admin-token-file)."), QStringLiteral("F")},
        {QStringLiteral("agent-program"), QStringLiteral("The segscale executable local agents run (default: next to this one)."), QStringLiteral("PATH")},
        {QStringLiteral("screenshot"), QStringLiteral("Save every view (each tab, the image viewer, the dialogs) as a PNG in DIR once the study is shown, then quit."), QStringLiteral("DIR")},
        {QStringLiteral("dark"), QStringLiteral("Use a dark palette whatever the desktop's (also SEGSCALE_STUDIO_DARK=1).")},
    });
    parser.addPositionalArgument(QStringLiteral("STUDY"), QStringLiteral("A study database to open."), QStringLiteral("[STUDY.db]"));
}

bool asksForText(int argc, char *argv[])
{
    for (int i = 1; i < argc; ++i) {
        const QByteArray arg(argv[i]);
        if (arg == "-h" || arg == "--help" || arg == "--help-all" || arg == "-v" || arg == "--version")
            return true;
    }
    return false;
}

void name(QCoreApplication &app)
{
    app.setOrganizationName(QStringLiteral("SegScale"));
    app.setApplicationName(QStringLiteral("SegScale Studio"));
    app.setApplicationVersion(QStringLiteral(SEGSCALE_VERSION));
}

} // namespace

int main(int argc, char *argv[])
{
    // --help and --version answer without a display (a terminal over ssh, man pages).
    if (asksForText(argc, argv)) {
        QCoreApplication core(argc, argv);
        name(core);
        QCommandLineParser parser;
        describe(parser);
        parser.process(core);  // prints and exits
        return 0;
    }
    QApplication app(argc, argv);
    name(app);
    QCommandLineParser parser;
    describe(parser);
    parser.process(app);
    QTextStream err(stderr);
    const QStringList studies = parser.positionalArguments();
    if (studies.size() > 1 || (!studies.isEmpty() && parser.isSet(QStringLiteral("connect")))) {
        err << "segscale-studio: give one study or --connect, not both\n";
        return 2;
    }
    if (parser.isSet(QStringLiteral("connect")) && !parser.isSet(QStringLiteral("admin-token-file"))) {
        err << "segscale-studio: --connect needs --admin-token-file\n";
        return 2;
    }

    if (parser.isSet(QStringLiteral("dark")) || qEnvironmentVariableIntValue("SEGSCALE_STUDIO_DARK") == 1) {
        // Fusion draws every widget from the palette, so a dark one is honoured everywhere.
        QApplication::setStyle(QStringLiteral("Fusion"));
        QApplication::setPalette(SegScale::Ui::darkPalette());
    }
    MainWindow window;
    if (parser.isSet(QStringLiteral("agent-program")))
        window.connection()->setAgentProgram(QFileInfo(parser.value(QStringLiteral("agent-program"))).absoluteFilePath());
    int exitCode = 0;
    if (parser.isSet(QStringLiteral("screenshot"))) {
        // Shoot once every view has data (or fail loudly when the connection does).
        const QString dir = parser.value(QStringLiteral("screenshot"));
        auto state = std::make_shared<int>(0);
        auto shoot = [&window, &err, dir, state](int bit) {
            // 1 summary, 2 workers, 4 errors, 8 results, 16 viewer loaded, 32 datasets,
            // 256 audit sample; 64: the viewer was opened; 128: shot.
            if (((*state |= bit) & 319) != 319)
                return;
            if (*state & 128)
                return;
            *state |= 128;
            QTimer::singleShot(500, &window, [&window, &err, dir] {
                for (const QString &path : window.saveScreenshots(dir))
                    err << "saved " << path << '\n';
                err.flush();
                QApplication::quit();
            });
        };
        QObject::connect(window.connection(), &StudyConnection::summaryUpdated, &window, [shoot] { shoot(1); });
        QObject::connect(window.connection(), &StudyConnection::workersUpdated, &window, [shoot] { shoot(2); });
        QObject::connect(window.errorsModel(), &KeysetTableModel::pageLoaded, &window, [shoot] { shoot(4); });
        QObject::connect(window.connection(), &StudyConnection::datasetsUpdated, &window, [shoot] { shoot(32); });
        // The Audit tab with a sample drawn (seeded: the same pictures every time) and its
        // first image shown.
        QObject::connect(window.auditPage(), &AuditPage::sampleDrawn, &window, [&window, shoot](int rows) {
            if (rows > 0)
                window.auditPage()->sampleView()->selectRow(0);
            QTimer::singleShot(1500, &window, [shoot] { shoot(256); });
        });
        QObject::connect(window.connection(), &StudyConnection::connected, &window, [&window] {
            QTimer::singleShot(500, &window, [&window] { window.auditPage()->drawSample(QStringLiteral("random"), 12, 1); });
        });
        QObject::connect(window.resultsModel(), &KeysetTableModel::pageLoaded, &window, [&window, shoot, state] {
            shoot(8);
            // The viewer on the first result, once (it reports when photo and labels are in).
            if (*state & 64)
                return;
            *state |= 64;
            ImageViewer *viewer = window.resultsPage()->openViewer(0);
            if (!viewer) {
                shoot(16);
                return;
            }
            QObject::connect(viewer, &ImageViewer::loaded, &window, [shoot] { shoot(16); });
        });
        QObject::connect(window.connection(), &StudyConnection::failed, &window, [&err, &exitCode](const QString &m) {
            err << "segscale-studio: " << m << '\n';
            err.flush();
            exitCode = 1;
            // Queued: a failure found before app.exec() (a missing token file) must still quit.
            QMetaObject::invokeMethod(QApplication::instance(), &QCoreApplication::quit, Qt::QueuedConnection);
        });
    }
    window.show();
    if (parser.isSet(QStringLiteral("connect")))
        window.connectTo(QUrl(parser.value(QStringLiteral("connect"))), parser.value(QStringLiteral("admin-token-file")));
    else if (!studies.isEmpty())
        window.openStudy(studies.first());
    const int code = app.exec();
    return exitCode != 0 ? exitCode : code;
}
