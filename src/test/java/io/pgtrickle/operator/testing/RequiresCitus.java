package io.pgtrickle.operator.testing;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Marks tests that need a real Citus cluster. Without one, each test is reported as skipped with
 * the reason (never silently passed); see {@link CitusTestCluster}.
 */
@Target(ElementType.TYPE)
@Retention(RetentionPolicy.RUNTIME)
@ExtendWith(CitusCondition.class)
public @interface RequiresCitus {}
