// Renders the app's SVG icon to the PNG sizes a desktop wants (hicolor theme), at build
// time, so the PNGs are never drawn twice by hand.
//   iconrender ICON.svg OUTDIR 16 32 48 64 128 256  ->  OUTDIR/<size>/segscale-studio.png

#include <QDir>
#include <QGuiApplication>
#include <QImage>
#include <QPainter>
#include <QSvgRenderer>
#include <QTextStream>

int main(int argc, char **argv)
{
    qputenv("QT_QPA_PLATFORM", "offscreen");
    QGuiApplication app(argc, argv);
    const QStringList args = QGuiApplication::arguments();
    if (args.size() < 4) {
        QTextStream(stderr) << "usage: iconrender ICON.svg OUTDIR SIZE...\n";
        return 2;
    }
    QSvgRenderer svg(args[1]);
    if (!svg.isValid()) {
        QTextStream(stderr) << "iconrender: " << args[1] << " is not a valid SVG\n";
        return 1;
    }
    for (qsizetype i = 3; i < args.size(); ++i) {
        const int size = args[i].toInt();
        QImage image(size, size, QImage::Format_ARGB32_Premultiplied);
        image.fill(Qt::transparent);
        QPainter painter(&image);
        painter.setRenderHint(QPainter::Antialiasing);
        svg.render(&painter);
        painter.end();
        const QString dir = QStringLiteral("%1/%2").arg(args[2]).arg(size);
        if (!QDir().mkpath(dir) || !image.save(dir + QStringLiteral("/segscale-studio.png"))) {
            QTextStream(stderr) << "iconrender: cannot write " << dir << '\n';
            return 1;
        }
    }
    return 0;
}
