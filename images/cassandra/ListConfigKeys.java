// Prints the cassandra.yaml keys this Cassandra version knows, one a line, sorted: the public
// instance fields of org.apache.cassandra.config.Config (SnakeYAML maps one to the other), plus
// the old names that renamed keys are still accepted under (@Replaces). The agent's init container
// (`ringkeeper-agent init --config-keys`) checks overrides against this list.
//
// Run as a single-file source program against the version's jars, never by hand:
//   java -cp '<cassandra lib>/*' ListConfigKeys.java > config-keys.txt
// Used by images/cassandra/Dockerfile (/opt/cassandra/config-keys.txt) and hack/cassandra/fetch.sh.
import java.lang.annotation.Annotation;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

public class ListConfigKeys {
  public static void main(String[] args) throws Exception {
    TreeSet<String> keys = new TreeSet<>();
    // initialize=false: Config's static initialisers must not run (they read system properties).
    Class<?> c = Class.forName("org.apache.cassandra.config.Config", false,
        ListConfigKeys.class.getClassLoader());
    Pattern oldName = Pattern.compile("oldName=\"?([a-zA-Z0-9_]+)");
    for (Field f : c.getFields()) {
      int m = f.getModifiers();
      if (!Modifier.isStatic(m) && !Modifier.isFinal(m)) keys.add(f.getName());
      for (Annotation a : f.getAnnotations()) {
        String t = a.annotationType().getSimpleName();
        if (!t.equals("Replaces") && !t.equals("ReplacesList")) continue;
        Matcher mm = oldName.matcher(a.toString());
        while (mm.find()) keys.add(mm.group(1));
      }
    }
    if (keys.isEmpty()) throw new IllegalStateException("no keys found in " + c.getName());
    for (String k : keys) System.out.println(k);
  }
}
